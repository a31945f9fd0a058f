from fastapi.testclient import TestClient

from main import app


def test_root():
    assert "psycopg2" in TestClient(app).get("/").json()
