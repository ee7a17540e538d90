from services.identity.app import definition
from services.identity.settings import IdentitySettings
from shared.service import main

main(definition, IdentitySettings)
