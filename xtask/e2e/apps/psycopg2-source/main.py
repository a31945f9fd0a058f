import psycopg2
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"service": "psycopg2-source", "psycopg2": psycopg2.__version__}
