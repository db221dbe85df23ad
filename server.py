"""The WSGI application, for any WSGI server: `waitress-serve server:app` (or `kg serve`)."""

from kg.web import create_app

app = create_app()
