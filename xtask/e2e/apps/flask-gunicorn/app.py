import io

from flask import Flask, jsonify
from PIL import Image

app = Flask(__name__)


@app.get("/")
def index():
    # A thumbnail made on each request: Pillow's compiled modules must load.
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    return jsonify(service="flask-gunicorn", thumbnail_bytes=len(buffer.getvalue()))
