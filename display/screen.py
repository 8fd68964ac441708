"""The screen behind a small interface: a pygame window, or an off-screen surface.

``--screen`` or ``HALL_DISPLAY_SCREEN`` = ``window`` (default) or ``offscreen``; the
off-screen one serves ``--screenshot`` and tests, and needs no video driver at all.
"""

from __future__ import annotations

import logging

import pygame

log = logging.getLogger(__name__)

SCREEN_BACKENDS = ("window", "offscreen")


class OffscreenScreen:
    def __init__(self, size):
        self.surface = pygame.Surface(size)

    @property
    def size(self):
        return self.surface.get_size()

    def present(self, areas=None) -> None:
        pass

    def resize(self, size) -> None:
        self.surface = pygame.Surface(size)

    def save(self, path) -> None:
        pygame.image.save(self.surface, str(path))

    def close(self) -> None:
        pass


class WindowScreen(OffscreenScreen):
    """A window on a PC, or the whole screen on a Pi; resizable when windowed."""

    def __init__(self, size, fullscreen: bool = False):
        if not pygame.display.get_init():
            pygame.display.init()
        self.fullscreen = fullscreen
        pygame.display.set_caption("Hall Queue — Màn hình hội trường")
        if fullscreen:
            # (0, 0) is the desktop's own resolution.
            self.surface = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)
        log.info("screen %s×%s (%s, %s)", *self.surface.get_size(),
                 "fullscreen" if fullscreen else "window", pygame.display.get_driver())

    def present(self, areas=None) -> None:
        """Show the frame: all of it, or only ``areas`` (a list of rectangles)."""
        if areas is None:
            pygame.display.flip()
        else:
            pygame.display.update(areas)

    def resize(self, size) -> None:
        if not self.fullscreen:
            self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)

    def close(self) -> None:
        pygame.display.quit()


def make_screen(backend: str, size, fullscreen: bool = False):
    if backend == "window":
        return WindowScreen(size, fullscreen)
    if backend == "offscreen":
        return OffscreenScreen(size)  # fullscreen means nothing off screen
    raise ValueError(f"unknown screen backend {backend!r}; expected one of {', '.join(SCREEN_BACKENDS)}")
