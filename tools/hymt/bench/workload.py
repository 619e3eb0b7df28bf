"""What `hymt bench` sends: sentences written for this project in several languages (short, a paragraph, a long
document), or the lines of a file.

Each request is (text, source, target). The built-in set mixes directions (into and out of Chinese, and between other
languages), as a public translation service receives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hymt.core.files import TextFileError, read_text_file

SHORT = {
    "en": "The train to the airport leaves every fifteen minutes from platform two.",
    "zh": "明天上午十点，我们在图书馆三楼的会议室讨论新学期的课程安排。",
    "fr": "La boulangerie du coin ouvre à sept heures, même le dimanche.",
    "ja": "駅の近くに新しい本屋ができて、週末はいつも混んでいます。",
    "de": "Bitte schließen Sie das Fenster, bevor Sie das Büro verlassen.",
}
PARAGRAPH = {
    "en": (
        "Our team moved the translation service to a new server last week. The move took one afternoon: we copied "
        "the model, started the containers and checked that every page still answered. Users noticed nothing, "
        "except that long documents now come back noticeably faster than before."
    ),
    "zh": (
        "上周我们把翻译服务迁移到了一台新服务器上。整个过程只用了一个下午：复制模型、启动容器，然后逐一检查每个页面"
        "是否正常响应。用户几乎没有察觉，只是发现长文档的翻译速度比以前快了不少。"
    ),
}
LONG = "\n\n".join(
    [
        "Installation guide. Before you begin, make sure the server has a recent NVIDIA driver and at least forty "
        "gigabytes of free disk space for the model and the container images.",
        "Step one: install Docker and the NVIDIA Container Toolkit, then restart the Docker service so that it knows "
        "the new runtime. Step two: download the model files into a directory of their own.",
        "Step three: start the stack. The first start takes a few minutes while the model loads into GPU memory; "
        "later starts are quicker because the compiled kernels are cached on disk.",
        "Step four: open the page in a browser, type a sentence and press Translate. If nothing happens, look at the "
        "logs of the web container first, then at the logs of the model server.",
    ]
)


@dataclass(frozen=True)
class Request:
    text: str
    source: str
    target: str


def built_in() -> list[Request]:
    """The built-in mix: every short sentence into Chinese (Chinese into English), both paragraphs, the long text."""
    requests = [Request(text, code, "en" if code == "zh" else "zh") for code, text in SHORT.items()]
    requests += [Request(PARAGRAPH["en"], "en", "zh"), Request(PARAGRAPH["zh"], "zh", "en")]
    requests.append(Request(LONG, "en", "fr"))
    return requests


class WorkloadError(ValueError):
    """The input file cannot be used; the message says what to change."""


def from_file(path: Path, target: str, source: str = "auto") -> list[Request]:
    """One request per non-empty line of a UTF-8 text file."""
    try:
        lines = read_text_file(path).splitlines()
    except TextFileError as error:
        hint = {
            "does not exist": "give a text file with one text to translate per line",
            "is not UTF-8 text": "convert it (e.g. iconv -t UTF-8) and try again",
        }.get(error.reason, "check its permissions")
        raise WorkloadError(f"{error}; {hint}") from None
    requests = [Request(line.strip(), source, target) for line in lines if line.strip()]
    if not requests:
        raise WorkloadError(f"{path} has no text; give one text to translate per line")
    return requests
