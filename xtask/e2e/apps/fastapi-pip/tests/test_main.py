from fastapi.testclient import TestClient

from main import app


def test_root():
    assert TestClient(app).get("/").json()["status"] == "ok"
