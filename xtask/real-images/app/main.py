"""A small FastAPI service: the kind of app the tutorials containerise."""

import os
from typing import Optional

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg2://app@db/app")

engine = create_engine(DATABASE_URL, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(String(2000), nullable=True)


class ItemIn(BaseModel):
    name: str
    description: Optional[str] = None


class ItemOut(ItemIn):
    id: int


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


app = FastAPI(title="items")


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.get("/items/{item_id}", response_model=ItemOut)
def read_item(item_id: int, db: Session = Depends(get_db)) -> ItemOut:
    item = db.scalars(select(Item).where(Item.id == item_id)).first()
    if item is None:
        raise HTTPException(status_code=404, detail="item not found")
    return ItemOut(id=item.id, name=item.name, description=item.description)


@app.post("/items", response_model=ItemOut, status_code=201)
def create_item(payload: ItemIn, db: Session = Depends(get_db)) -> ItemOut:
    item = Item(name=payload.name, description=payload.description)
    db.add(item)
    db.commit()
    db.refresh(item)
    return ItemOut(id=item.id, name=item.name, description=item.description)
