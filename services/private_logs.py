"""Log records without conversation text, for the Rasa and action server processes.

An exception's text can carry a whole tracker (Rasa logs the action server's error body inside
it), and Python warnings quote what a user typed ("Parsed an intent '/…'"). So every record keeps
its logger, level and message, its exception is reduced to the exception types, and a warning to
its category and place.
"""

import logging
import re
import warnings

_RESPONSE_BODY = re.compile(r"body='.*", re.DOTALL)
_WARNING_PLACE = re.compile(r"^(?P<place>\S+:\d+): (?P<category>\w+):")


def exception_types(error: BaseException) -> str:
    names, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        names.append(type(error).__name__)
        error = error.__cause__ or error.__context__
    return " ← ".join(names)


def _withheld_record_factory(original):
    def make(*args, **kwargs) -> logging.LogRecord:
        record = original(*args, **kwargs)
        message = record.getMessage()
        if record.name == "py.warnings":
            found = _WARNING_PLACE.search(message)
            message = f"{found['category']} at {found['place']} (text withheld)" if found else "warning (text withheld)"
        message = _RESPONSE_BODY.sub("body withheld", message)
        if record.exc_info and record.exc_info[1] is not None:
            message += f" [{exception_types(record.exc_info[1])}; details withheld]"
        record.msg, record.args, record.exc_info, record.exc_text, record.stack_info = message, None, None, None, None
        return record

    return make


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    logging.getLogger("py.warnings").warning("%s at %s:%s (text withheld)", category.__name__, filename, lineno)


def keep_text_out_of_logs() -> None:
    """Installs the filtering for this process (call before anything logs)."""
    logging.setLogRecordFactory(_withheld_record_factory(logging.getLogRecordFactory()))
    warnings.showwarning = _show_warning
