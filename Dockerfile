# One image for every Videoflix service: web (pserve production.ini), worker (faust), migrate (alembic).
# FFmpeg is the static build inside the imageio-ffmpeg wheel (libx264, aac), so no system package is needed.
FROM python:3.11-slim AS build
WORKDIR /src
COPY setup.py pyproject.toml MANIFEST.in README.md ./
COPY videoflix ./videoflix
COPY stream_workers ./stream_workers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIA_ROOT=/srv/videoflix/media \
    FAUST_DATADIR=/srv/videoflix/faust \
    WORKER_SCRATCH=/srv/videoflix/scratch
# every folder a process writes is the user's: /app is root's (a worker makes a sealed film, or any film on S3,
# in WORKER_SCRATCH before it goes to the store)
RUN groupadd --system --gid 10001 videoflix \
 && useradd --system --uid 10001 --gid videoflix --home-dir /app --shell /usr/sbin/nologin videoflix \
 && mkdir -p /srv/videoflix/media /srv/videoflix/faust /srv/videoflix/scratch \
 && chown -R videoflix:videoflix /srv/videoflix
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY production.ini development.ini ./
COPY alembic ./alembic
USER videoflix
EXPOSE 8000 6066
# the web service's command; the worker and migrate services override it (docker-compose.yml)
CMD ["pserve", "production.ini"]
