"""Schemas shared by the structured-output tests."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Person(BaseModel):
    name: str
    born: int


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    city: str
    zip: str | None = None


class Employee(BaseModel):
    name: str = Field(description="full name")
    address: Address = Field(description="where they live")
    skills: list[str] = []
    level: Literal["junior", "senior"] = "junior"
    favourite: Color | None = None
    nickname: str = "none"


class Tree(BaseModel):
    label: str
    children: list[Tree] = []
