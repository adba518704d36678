# ferry/errors.py: the refusals of the trust chain (note.py, trust.py,
# manifest.py re-export them). They live apart from the code that raises
# them so that the cycle can release that code between its steps (mods.py)
# while a caller's `except trust.RollbackError` still catches what a later
# import of trust.py raises: the classes are loaded once and stay.


class NoteError(Exception):
    # Base of the refusals; .code names the refusal for reports.
    code = "note"


class FormatError(NoteError):
    code = "format"  # Go: trust.ErrFormat


class UntrustedError(NoteError):
    code = "untrusted"  # Go: trust.ErrUntrusted


class BadSignatureError(NoteError):
    code = "bad-signature"  # Go: trust.ErrBadSignature


class ExpiredError(NoteError):
    code = "expired"  # trust.ErrExpired / update.ErrFrozen


class RollbackError(NoteError):
    code = "rollback"  # update.ErrRollback


class MismatchError(NoteError):
    code = "mismatch"  # update.ErrMismatch


class ManifestError(Exception):
    # Base of the refusals; .code names the refusal (Go's sentinel).
    code = "manifest"


class ManifestFormatError(ManifestError):
    code = "format"  # manifest.ErrFormat


class VersionError(ManifestError):
    code = "version"  # manifest.ErrVersion


class PathError(ManifestError):
    code = "path"  # manifest.ErrPath


class TooLargeError(ManifestError):
    code = "too-large"  # manifest.ErrTooLarge


def again(e, prefix):
    """The same exception class with the message prefixed (the one line
    names what was being fetched); a NoteError if the class cannot be made
    from one message."""
    msg = prefix + (e.args[0] if e.args and isinstance(e.args[0], str) else repr(e))
    try:
        return type(e)(msg)
    except Exception:
        return NoteError(msg)
