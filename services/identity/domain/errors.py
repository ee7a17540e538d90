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


class LoginIdTaken(Conflict):
    slug, title = "login-id-taken", "This login id is taken"


class SecondFactorFailed(Problem):
    status, slug, title = 401, "code-invalid", "The code is not correct"


class CodeExpired(Problem):
    status, slug, title = 410, "code-expired", "The code has expired"


class TooManyTries(Problem):
    status, slug, title = 429, "too-many-tries", "Too many attempts"


class PasswordChangeRequired(Problem):
    status, slug, title = 403, "password-change-required", "Change your password first"


class RefreshTokenInvalid(Problem):
    status, slug, title = 401, "refresh-token-invalid", "The refresh token is not valid"


class NotAllowed(Problem):
    status, slug, title = 403, "forbidden", "Not allowed"


class CurrentPasswordWrong(Problem):
    status, slug, title = 403, "current-password-wrong", "The current password is not correct"


class EmailNotFound(NotFound):
    slug, title = "email-not-found", "This address is not on the account"


class PrimaryEmailDeletion(Conflict):
    slug, title = "primary-email", "The primary address can not be deleted"
