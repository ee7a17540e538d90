"""identity's domain errors (each a problem type the API documents)."""

from shared.errors import Conflict, InvalidInput, NotFound, Problem


class LinkInvalid(NotFound):
    slug, title = "link-invalid", "The link is not valid"


class LinkExpired(Problem):
    status, slug, title = 410, "link-expired", "The link has expired"


class RegistrationAlreadyCompleted(Conflict):
    slug, title = "registration-completed", "This registration is already completed"


class EmailTaken(Conflict):
    slug, title = "email-taken", "An account with this email address exists"


class PasswordRejected(InvalidInput):
    slug, title = "password-policy", "The password does not meet the password policy"


class LoginFailed(Problem):
    status, slug, title = 401, "login-failed", "The login details are not correct"
