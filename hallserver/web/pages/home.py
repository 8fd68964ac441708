"""Web pages. For now the hub's front page: what runs here and where to go."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    hall = current_app.extensions["hall"]
    return render_template("index.html", state=hall.state())
