"""identity's domain errors (each a problem type the API documents)."""

from typing import Any

from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    Unprocessable,
)


class LinkInvalid(NotFound):
    slug, title = "link-invalid", "The link is not valid"


class LinkExpired(Gone):
    slug, title = "link-expired", "The link has expired"


class RegistrationAlreadyCompleted(Conflict):
    slug, title = "registration-completed", "This registration is already completed"


class EmailTaken(Conflict):
    slug, title = "email-taken", "An account with this email address exists"


class PasswordRejected(InvalidInput):
    slug, title = "password-policy", "The password does not meet the password policy"


class LoginFailed(Unauthenticated):
    slug, title = "login-failed", "The login details are not correct"


class LoginIdTaken(Conflict):
    slug, title = "login-id-taken", "This login id is taken"


class SecondFactorFailed(Unauthenticated):
    slug, title = "code-invalid", "The code is not correct"


class CodeIncorrect(InvalidInput):
    """A wrong code confirming a phone or completing a password reset (a wrong login code is
    ``SecondFactorFailed``, 401). Names the field ``code``, or the field given."""

    slug, title = "code-incorrect", "The code is not correct"

    def __init__(self, *, field: str = "code", rule: str = "matches_sent_code",
                 message: str = "the code is not correct", **kw: Any) -> None:
        super().__init__([{"field": field, "rule": rule, "message": message}], **kw)


class CodeExpired(Gone):
    slug, title = "code-expired", "The code has expired"


class TooManyTries(TooManyRequests):
    slug, title = "too-many-tries", "Too many attempts"


class PasswordChangeRequired(Forbidden):
    slug, title = "password-change-required", "Change your password first"


class RefreshTokenInvalid(Unauthenticated):
    slug, title = "refresh-token-invalid", "The refresh token is not valid"


class NotAllowed(Forbidden):
    slug, title = "forbidden", "Not allowed"


class CurrentPasswordWrong(Forbidden):
    slug, title = "current-password-wrong", "The current password is not correct"


class EmailNotFound(NotFound):
    slug, title = "email-not-found", "This address is not on the account"


class PrimaryEmailDeletion(Conflict):
    slug, title = "primary-email", "The primary address can not be deleted"


# -- user administration (ID-2, ID-7, ID-11, ID-12) ---------------------------------------------
class RoleNotAllowed(Forbidden):
    slug, title = "role-not-allowed", "Your role does not allow this"


class ActivationCodeInvalid(BadRequest):
    slug, title = "activation-code-invalid", "The activation code is not correct"


class ActivationCodeExpired(Gone):
    slug, title = "activation-code-expired", "The activation code has expired"


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


class InvitationExpired(Gone):
    slug, title = "invitation-expired", "The invitation has expired"


class InvitationRevoked(Gone):
    slug, title = "invitation-revoked", "The invitation was withdrawn"


class InvitationAccepted(Conflict):
    slug, title = "invitation-accepted", "The invitation was accepted already"


class InvitationPending(Conflict):
    slug, title = "invitation-pending", "This address has an open invitation"


class InvitationFileInvalid(Unprocessable):
    slug, title = "invitation-file-invalid", "The file can not be imported"


class InvitationFileTooLarge(PayloadTooLarge):
    slug, title = "invitation-file-too-large", "The file is too large"


class InvitationJobNotFound(NotFound):
    slug, title = "invitation-job-not-found", "No such import in your company"


# -- company login domains (ID-14) ----------------------------------------------------------------
class LoginDomainTaken(Conflict):
    slug, title = "login-domain-taken", "This login domain is taken"
