"""A DSC IT-100 panel simulator on one end of a serial line (a socat pty): it answers 000
polls with 500000 and commands with 500<command> (or the answer it is told to give), sends
the frames a test asks for, and goes silent on demand. Frames: 3-digit command, data, two
uppercase hex digits (8-bit sum of command and data), CR LF."""

import os
import threading
import time
import tty


def frame(message: str) -> bytes:
    return f"{message}{sum(message.encode()) & 0xFF:02X}\r\n".encode()


class It100Sim:
    def __init__(self, path):
        self.fd = os.open(str(path), os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.received: list[str] = []  # every frame received, as text without CR LF
        self.silent = False
        self.next_answer: str | None = None  # e.g. "502020" or "501" for the next command
        self.lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def send(self, message: str) -> None:
        os.write(self.fd, frame(message))

    def _run(self) -> None:
        buf = b""
        while not self._stop:
            try:
                chunk = os.read(self.fd, 256)
            except OSError:
                time.sleep(0.05)
                continue
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                text = line.decode(errors="replace")
                with self.lock:
                    self.received.append(text)
                    if self.silent or len(text) < 5:
                        continue
                    message, checksum = text[:-2], text[-2:]
                    if f"{sum(message.encode()) & 0xFF:02X}" != checksum:
                        continue
                    if message.startswith("000"):
                        answer = "500000"
                    elif self.next_answer is not None:
                        answer, self.next_answer = self.next_answer, None
                    else:
                        answer = "500" + message[:3]
                os.write(self.fd, frame(answer))

    def commands(self) -> list[str]:
        """Frames received other than polls."""
        with self.lock:
            return [f for f in self.received if not f.startswith("000")]

    def wait_command(self, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        seen = len(self.commands())
        while time.monotonic() < deadline:
            got = self.commands()
            if len(got) > seen:
                return got[seen]
            time.sleep(0.02)
        raise AssertionError(f"no command frame in {timeout} s (received {self.received})")

    def close(self) -> None:
        self._stop = True
        os.close(self.fd)
