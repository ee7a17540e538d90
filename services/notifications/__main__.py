from services.notifications.app import definition
from services.notifications.settings import NotificationsSettings
from shared.service import main

main(definition, NotificationsSettings)
