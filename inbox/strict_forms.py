"""Forms whose bytes are not UTF-8 are refused (400), never decoded into something else.

Werkzeug keeps undecodable percent-escapes of a urlencoded form as literal text, so
``text=Hello%FF%FE%FD`` became the reply "Hello%FF%FE%FD" and went out to a customer like that.
The app's request class parses urlencoded forms strictly instead; the CSRF check reads the form
first, so the refusal happens before any view runs, on every form of the app.
"""
from __future__ import annotations

import io
import typing as t
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser


class StrictFormDataParser(FormDataParser):
    def _parse_urlencoded(self, stream: t.IO[bytes], mimetype: str, content_length: int | None,
                          options: dict[str, str]):
        data = stream.read()
        try:
            parse_qsl(data.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("The form holds text that is not valid UTF-8: retype it and send again.") from None
        return super()._parse_urlencoded(io.BytesIO(data), mimetype, content_length, options)


def init_app(app: Flask) -> None:
    """Parse forms strictly, keeping whatever request class the app has (htmx-flask sets one)."""
    app.request_class = type("StrictFormRequest", (app.request_class,),
                             {"form_data_parser_class": StrictFormDataParser})
