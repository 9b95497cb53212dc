"""MkDocs hook: the UI's screenshots come from the latest browser test of the default project.

``make test`` runs the generated project's browser test, which saves its screenshots under
``build/screenshots/<combination>/``; when they exist they replace the copies in ``docs/images/``
on the site, so the pictures show the UI as this build draws it.
"""

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

TEMPLATE = Path(__file__).resolve().parents[2]
SHOTS = TEMPLATE / "build" / "screenshots" / "chroma-local-openai"
PAGES = {  # screenshot -> the image the pages show
    "landing.png": "images/ui-landing.png",
    "answer.png": "images/ui-answer.png",
    "phone-landing.png": "images/ui-phone-landing.png",
    "login.png": "images/ui-login.png",
}


def on_files(files: Files, config: Any) -> Files:
    for shot, image in PAGES.items():
        if (SHOTS / shot).is_file() and files.get_file_from_path(image) is not None:
            files.remove(files.get_file_from_path(image))
            files.append(File.generated(config, image, abs_src_path=str(SHOTS / shot)))
    return files
