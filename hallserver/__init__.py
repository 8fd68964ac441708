"""Hall Queue hub: the queue core, its SQLite store, the JSON API and Socket.IO push."""

__version__ = "0.1.0"


def create_app(config=None, clock=None):
    """Build the hub's Flask app (see ``hallserver.app.create_app``)."""
    from .web import create_app as factory

    return factory(config, clock)
