"""ResumableUploadService against the database: two requests writing one upload at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from videoflix.config import build_settings
from videoflix.core.models import Upload, User
from videoflix.errors import Locked
from videoflix.services.resumable_uploads import ResumableUploadService


def test_a_second_writer_is_told_423_instead_of_waiting(engine, tmp_path):
    """Two PATCH requests for one upload (a client that retried while its first request still runs): the
    second must not interleave its bytes with the first's, nor hang until the first ends."""
    settings = build_settings({"videoflix.media_root": str(tmp_path)})
    with Session(engine, expire_on_commit=False) as setup:
        user = User(email="two-writers@example.com", password_hash="x", is_active=True, is_staff=True)
        setup.add(user)
        setup.flush()
        fields = {"title": "t", "description": "", "category": ""}
        upload = ResumableUploadService(setup, settings).create(user, 1000, fields)
        setup.commit()
    try:
        with Session(engine) as first, Session(engine) as second, Session(engine) as third:
            held = ResumableUploadService(first, settings).get(upload.id, user, lock=True)
            assert held.offset == 0
            with pytest.raises(Locked):
                ResumableUploadService(second, settings).get(upload.id, user, lock=True)
            first.rollback()  # the first request ends: the next one may write
            assert ResumableUploadService(third, settings).get(upload.id, user, lock=True).id == upload.id
    finally:
        with engine.begin() as conn:  # these rows were committed for real: remove them
            conn.execute(sa.delete(Upload).where(Upload.id == upload.id))
            conn.execute(sa.delete(User).where(User.id == user.id))
