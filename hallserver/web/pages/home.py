"""The hub's front page: what runs here and where to go; the site icon."""

from flask import Blueprint, redirect, render_template, url_for

from ..extensions import get_hall

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    hall = get_hall()
    return render_template("index.html", state=hall.state())


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on pages without an icon link (JSON, files): the same icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
