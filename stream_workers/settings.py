"""Worker settings from the environment (and a `.env` in the working folder), the same variables as the web tier.

Read once, when the Faust app is configured (`app.settings`), never at import: the modules that need a setting
ask the app for it, so a test gives the whole worker other settings in one assignment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.environment import normalize_database_url, read_dotenv, value
from videoflix.core.media import MediaLimits
from videoflix.core.storage.config import VARIABLES as STORAGE_VARIABLES
from videoflix.core.storage.config import StorageConfig

from . import speech_model, transcription
from .broker_auth import BrokerAuth
from .ladders import PER_TITLE_CRF


def ladder_crf(value: str) -> float | None:
    """LADDER_CRF: a CRF (0 to 51), "fixed" for the fixed ladder, or empty for the per-title default."""
    value = value.strip().lower()
    if value == "fixed":
        return None
    if not value:
        return PER_TITLE_CRF
    crf = float(value)
    if not 0 <= crf <= 51:
        raise ValueError(f"LADDER_CRF must be a CRF between 0 and 51, or 'fixed': {value!r}")
    return crf


def switch(name: str, value: str) -> bool:
    """An on/off setting: on, off (also true/false, yes/no, 1/0); anything else is refused at start."""
    value = value.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{name} must be on or off: {value!r}")


def share(name: str, value: str) -> float:
    """A share of something (0 to 0.5), `off` for 0; anything else is refused at start."""
    value = value.strip().lower()
    number = 0.0 if value in ("off", "false", "no") else float(value) if value.replace(".", "", 1).isdigit() else -1
    if not 0.0 <= number <= 0.5:
        raise ValueError(f"{name} must be a share from 0 to 0.5, or off: {value!r}")
    return number


def caption_model(value: str) -> str:
    """CAPTION_MODEL: a packaged speech model's name or a model's folder, checked to be there
    (`speech_model.check`: a ValueError saying what was looked for)."""
    name = value.strip() or speech_model.DEFAULT
    speech_model.check(name)
    return name


#: x264's presets, fastest first (AVC_PRESET is one)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def film_grain(value: str) -> int:
    """AV1_FILM_GRAIN: SVT-AV1's film-grain synthesis level, 1 to 50, or 0/off."""
    given = value.strip().lower()
    level = 0 if given in ("", "off") else int(given) if given.isdigit() else -1
    if not 0 <= level <= 50:
        raise ValueError(f"AV1_FILM_GRAIN must be off or a level from 1 to 50: {value!r}")
    return level


def choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """A setting that is one of `allowed` (any case), or ValueError naming them."""
    if value.strip().lower() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}: {value!r}")
    return value.strip().lower()


def caption_part_seconds(value: str) -> float:
    """CAPTION_PART_SECONDS: at least 10 seconds (shorter parts would only add cuts and model loads)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 10 <= seconds <= 86_400:
        raise ValueError(f"CAPTION_PART_SECONDS must be a number of seconds from 10 to 86400, not {value!r}.")
    return seconds


def caption_language(value: str) -> str:
    """CAPTION_LANGUAGE: a language's ISO 639-1 code as Whisper knows it ("fr"), or empty to detect it."""
    value = value.strip().lower()
    if value and not (len(value) in (2, 3) and value.isalpha()):
        raise ValueError(f"CAPTION_LANGUAGE must be a language's two-letter code (fr), or empty: {value!r}")
    return value


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    kafka_bootstrap_servers: str
    #: how the workers authenticate to Kafka (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*; broker_auth.py)
    kafka_auth: BrokerAuth
    media_root: Path
    ffmpeg_binary: str | None
    x264_preset: str
    #: per-title rate control: x264's CRF, capped at PER_TITLE_CAP of the fixed ladder's bitrates (LADDER_CRF);
    #: None: the fixed ladder's bitrates (LADDER_CRF=fixed)
    ladder_crf: float | None
    #: the best H.264 ladder, the fast one's second stage, replacing it in the master where it holds its
    #: quality in fewer bytes (AVC_LADDER, avc_ladder.py), and x264's speed for it (AVC_PRESET): its CPU cost
    avc_ladder: bool
    avc_preset: str
    #: the AV1 ladder beside the H.264 one, once a film is ready (AV1_LADDER, av1_ladder.py), and its film-grain
    #: synthesis level (AV1_FILM_GRAIN, 0: off)
    av1_ladder: bool
    av1_film_grain: int
    #: the further ladders' rate aimed per film (or part) at their reference's quality, from probe encodes of
    #: this share of it (RATE_AIM, rate_aim.py); 0 (off): each ladder's own CRF for every film
    rate_aim: float
    #: the HEVC ladder too, for Apple devices (HEVC_LADDER, hevc_ladder.py; off by default)
    hevc_ladder: bool
    #: a film planned from now on is sealed with AES-128 (HLS_ENCRYPTION, videoflix.core.hls_keys); a film
    #: once sealed stays sealed, whatever this says later
    hls_encryption: bool
    #: segments each of a new film's keys seals (HLS_KEY_ROTATION; 75: a key every 5 minutes of film)
    hls_key_rotation: int
    #: seconds between the rounds that seal the films made before HLS_ENCRYPTION was on (SEAL_INTERVAL)
    seal_interval: float
    #: the longest film (seconds) made in one pass given the further ladders (AV1_MAX_SECONDS; inf: every one);
    #: a film made in parts gets them in any case (either way they are made in parts, over every worker)
    av1_max_seconds: float
    topic_partitions: int
    max_attempts: int  # for transient failures (database, broker, disk); bad input fails at once
    retry_delay: float
    job_timeout: float  # seconds; a job running longer is killed
    stall_timeout: float  # seconds without FFmpeg progress before it counts as hung
    progress_interval: float  # seconds between progress events
    requeue_after: float  # seconds a waiting video may see no activity before the watchdog queues it again
    session_timeout: float  # seconds of silence after which Kafka gives a worker's partitions to the others
    parts_from_seconds: float  # films at least this long are cut into parts that several workers encode
    part_seconds: int  # the parts' length (a multiple of the 4 s segment)
    media_limits: MediaLimits  # what a source may claim (MEDIA_MAX_*, as the web tier checks at upload)
    datadir: Path  # Faust's own state (FAUST_DATADIR)
    web_host: str  # the worker's /healthz, /readyz and /metrics (FAUST_WEB_HOST, FAUST_WEB_PORT)
    web_port: int
    storage: StorageConfig  # where sources and outputs live (STORAGE_BACKEND and the S3 settings)
    scratch: Path  # with S3: where this worker makes outputs before they are uploaded (WORKER_SCRATCH)
    sweep_interval: float  # seconds between storage sweeps (SWEEP_INTERVAL)
    sweep_grace: float  # an ownerless object is removed only once this old (SWEEP_GRACE)
    quality_samples: int  # the most stretches of a film scored with VMAF after an encode; 0: none (QUALITY_SAMPLES)
    vmaf_floor: float  # a rendition whose mean VMAF is below this is flagged for the operator (VMAF_FLOOR)
    #: automatic captions for every film with speech (CAPTIONS, caption_jobs.py), from the speech model
    #: CAPTION_MODEL names (speech_model.py), in CAPTION_LANGUAGE ("": the language detected per film)
    captions: bool = False
    caption_model: str = "base"
    caption_language: str = ""
    #: a film's speech is transcribed in parts of about this many seconds (cut at silences) over the workers
    caption_part_seconds: float = 600.0
    #: where the speech model runs: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda
    caption_device: str = "auto"

    @classmethod
    def from_environment(cls) -> WorkerSettings:
        read_dotenv(os.getcwd())
        env = os.environ
        media_root = Path(value(env, "MEDIA_ROOT")).absolute()
        variable_of = {name: variable for variable, name in STORAGE_VARIABLES.items()}
        bootstrap_servers = value(env, "KAFKA_BOOTSTRAP_SERVERS")
        return cls(
            database_url=normalize_database_url(value(env, "DATABASE_URL")),
            kafka_bootstrap_servers=bootstrap_servers,
            kafka_auth=BrokerAuth.from_settings(env, bootstrap_servers),
            media_root=media_root,
            ffmpeg_binary=value(env, "FFMPEG_BINARY") or None,
            x264_preset=value(env, "X264_PRESET"),
            ladder_crf=ladder_crf(value(env, "LADDER_CRF")),
            avc_ladder=switch("AVC_LADDER", value(env, "AVC_LADDER")),
            avc_preset=choice("AVC_PRESET", value(env, "AVC_PRESET"), X264_PRESETS),
            av1_ladder=switch("AV1_LADDER", value(env, "AV1_LADDER")),
            av1_film_grain=film_grain(value(env, "AV1_FILM_GRAIN")),
            hevc_ladder=switch("HEVC_LADDER", value(env, "HEVC_LADDER")),
            rate_aim=share("RATE_AIM", value(env, "RATE_AIM")),
            hls_encryption=switch("HLS_ENCRYPTION", value(env, "HLS_ENCRYPTION")),
            hls_key_rotation=int(value(env, "HLS_KEY_ROTATION")),
            seal_interval=float(value(env, "SEAL_INTERVAL")),
            av1_max_seconds=float(value(env, "AV1_MAX_SECONDS")),
            topic_partitions=int(value(env, "TOPIC_PARTITIONS")),
            max_attempts=int(value(env, "TRANSCODE_MAX_ATTEMPTS")),
            retry_delay=float(value(env, "TRANSCODE_RETRY_DELAY")),
            job_timeout=float(value(env, "TRANSCODE_TIMEOUT")),
            stall_timeout=float(value(env, "TRANSCODE_STALL_TIMEOUT")),
            progress_interval=float(value(env, "PROGRESS_INTERVAL")),
            requeue_after=float(value(env, "REQUEUE_AFTER")),
            session_timeout=float(value(env, "KAFKA_SESSION_TIMEOUT")),
            parts_from_seconds=float(value(env, "PARTS_FROM_SECONDS")),
            part_seconds=int(value(env, "PART_SECONDS")),
            media_limits=MediaLimits.from_settings(lambda name: env.get(f"MEDIA_MAX_{name.upper()}")),
            datadir=Path(value(env, "FAUST_DATADIR")),
            web_host=value(env, "FAUST_WEB_HOST"),
            web_port=int(value(env, "FAUST_WEB_PORT")),
            storage=StorageConfig.from_settings(lambda name: env.get(variable_of[name])),
            scratch=Path(value(env, "WORKER_SCRATCH")).absolute(),
            sweep_interval=float(value(env, "SWEEP_INTERVAL")),
            sweep_grace=float(value(env, "SWEEP_GRACE")),
            quality_samples=int(value(env, "QUALITY_SAMPLES")),
            vmaf_floor=float(value(env, "VMAF_FLOOR")),
            captions=switch("CAPTIONS", value(env, "CAPTIONS")),
            caption_model=caption_model(value(env, "CAPTION_MODEL")),
            caption_language=caption_language(value(env, "CAPTION_LANGUAGE")),
            caption_part_seconds=caption_part_seconds(value(env, "CAPTION_PART_SECONDS")),
            caption_device=choice("CAPTION_DEVICE", value(env, "CAPTION_DEVICE"), transcription.DEVICES),
        )

    @property
    def longest_job(self) -> float:
        """A job may take this long; Kafka must not think the worker is gone meanwhile (its poll loop is free,
        FFmpeg runs as a subprocess, but Faust also checks the time spent on one event)."""
        return self.job_timeout + 600
