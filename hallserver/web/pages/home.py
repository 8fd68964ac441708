"""The hub's front page: what runs here and where to go."""

from flask import Blueprint, render_template

from ..extensions import get_hall

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    hall = get_hall()
    return render_template("index.html", state=hall.state())
