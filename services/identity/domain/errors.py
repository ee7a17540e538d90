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


# -- user administration (ID-2, ID-7, ID-11, ID-12) ---------------------------------------------
class RoleNotAllowed(Problem):
    status, slug, title = 403, "role-not-allowed", "Your role does not allow this"


class ActivationCodeInvalid(Problem):
    status, slug, title = 400, "activation-code-invalid", "The activation code is not correct"


class ActivationCodeExpired(Problem):
    status, slug, title = 410, "activation-code-expired", "The activation code has expired"


class UserNotFound(NotFound):
    slug, title = "user-not-found", "No such user in your company"


class NoParent(NotFound):
    slug, title = "no-parent", "This user has no parent user"


class UserStatusConflict(Conflict):
    slug, title = "user-status", "The user is not in a state that allows this"


class InvitationNotFound(NotFound):
    slug, title = "invitation-not-found", "No such invitation in your company"


class InvitationInvalid(NotFound):
    slug, title = "invitation-invalid", "The invitation link is not valid"


class InvitationExpired(Problem):
    status, slug, title = 410, "invitation-expired", "The invitation has expired"


class InvitationRevoked(Problem):
    status, slug, title = 410, "invitation-revoked", "The invitation was withdrawn"


class InvitationAccepted(Conflict):
    slug, title = "invitation-accepted", "The invitation was accepted already"


class InvitationPending(Conflict):
    slug, title = "invitation-pending", "This address has an open invitation"


class InvitationFileInvalid(Problem):
    status, slug, title = 422, "invitation-file-invalid", "The file can not be imported"


class InvitationFileTooLarge(Problem):
    status, slug, title = 413, "invitation-file-too-large", "The file is too large"


class InvitationJobNotFound(NotFound):
    slug, title = "invitation-job-not-found", "No such import in your company"


# -- company login domains (ID-14) ----------------------------------------------------------------
class LoginDomainTaken(Conflict):
    slug, title = "login-domain-taken", "This login domain is taken"
