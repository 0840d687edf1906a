"""The keytui Textual app: owns the current Services, switches between the welcome and main screens,
and holds app-wide keys (help, quit, command palette)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from keytui.core.errors import KeytuiError
from keytui.core.models import AgeLevel
from keytui.services import Services, ServicesFactory
from keytui.ui.cells import LEVEL_VARIABLES
from keytui.ui.messages import CredentialsMissing, ProfileChangeRequested
from keytui.ui.screens.help import HelpEntry, HelpModal
from keytui.ui.screens.main import RESERVED, MainScreen
from keytui.ui.screens.rotation import RotationScreen
from keytui.ui.screens.welcome import WelcomeScreen


class KeytuiApp(App[int]):
    CSS_PATH = "keytui.tcss"
    TITLE = "keytui"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, services: Services, factory: ServicesFactory) -> None:
        super().__init__()
        self.services = services
        self._factory = factory
        if services.settings.keymap:
            self.set_keymap(dict(services.settings.keymap))

    def on_mount(self) -> None:
        self._open(self.services)

    def _open(self, services: Services) -> None:
        self.services = services
        if services.aws is None:
            reason = str(services.startup_error) if services.startup_error else "No AWS session."
            self._show_screen(WelcomeScreen(reason, services.available_profiles))
        else:
            self._show_screen(MainScreen(services))

    def _show_screen(self, screen: Screen[None]) -> None:
        # The default screen stays at the bottom; exactly one keytui screen sits on it.
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_credentials_missing(self, message: CredentialsMissing) -> None:
        self._show_screen(WelcomeScreen(str(message.error), self.services.available_profiles))

    def on_profile_change_requested(self, message: ProfileChangeRequested) -> None:
        try:
            services = self._factory(message.profile)
        except KeytuiError as exc:
            self.notify(str(exc), title="Cannot switch profile", severity="error", timeout=10)
            return
        self._open(services)

    async def action_quit(self) -> None:
        # Quitting in the middle of a rotation would leave it half done (the journal could resume it, but
        # nobody should have to): wait for it to finish or to ask something, which can be answered "no".
        if any(isinstance(screen, RotationScreen) and screen.running for screen in self.screen_stack):
            self.notify("A rotation is running: wait until it finishes or asks you something, then quit.",
                        title="Not now", severity="warning")
            return
        # An MFA enrollment whose device exists but is not enabled: esc deletes it; quitting would leave it.
        from keytui.ui.screens.mfa_enroll import MfaEnrollScreen

        if any(isinstance(screen, MfaEnrollScreen) and screen.pending for screen in self.screen_stack):
            self.notify("An MFA enrollment is open: finish it, or press esc to cancel it (that deletes the new "
                        "device), then quit.", title="Not now", severity="warning")
            return
        await super().action_quit()

    def level_style(self, level: AgeLevel) -> str:
        """The rich style for an age level, from the current theme (so themes restyle ages too)."""
        return f"bold {self.theme_variables[LEVEL_VARIABLES[level]]}"

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            return
        entries: list[HelpEntry] = []
        reserved_ids = {binding.id for binding in RESERVED}
        reserved: list[HelpEntry] = []
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.id:  # widget internals (cursor keys, copy…): the footer and arrows say enough
                continue
            entry = HelpEntry(self.get_key_display(binding), binding.description, binding.id or binding.action, active.enabled)
            (reserved if binding.id in reserved_ids else entries).append(entry)
        # Shown the way the footer and the other rows show keys (^p, not ctrl+p).
        palette = Binding(self.COMMAND_PALETTE_BINDING, "command_palette", key_display=self.COMMAND_PALETTE_DISPLAY)
        entries.append(HelpEntry(self.get_key_display(palette), "Command palette", "command_palette", True))
        if isinstance(self.screen, MainScreen):
            entries.append(HelpEntry("enter", "Show the user's keys", "(users table)", True))
        self.push_screen(HelpModal(entries, reserved))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield SystemCommand("Refresh", "Reload users and keys from AWS", screen.action_refresh)
            yield SystemCommand("Filter users", "Filter the users table by name or path", screen.action_filter)
            yield SystemCommand("Sort by next column", "Change the users table's sort column", screen.action_sort_next)
            yield SystemCommand("Reverse sort", "Reverse the users table's order", screen.action_sort_reverse)
            yield SystemCommand("Profiles", "Local profiles and where their secrets live; import into the keyring",
                                screen.action_profiles)
            yield SystemCommand("Rotate key", "Rotate the selected user's access key (or resume an interrupted "
                                "rotation)", screen.action_rotate)
            yield SystemCommand("Enroll MFA", "Enroll a virtual MFA device for the selected user (QR code)",
                                screen.action_mfa)
            yield SystemCommand("MFA session", "Get an MFA session for a profile and keep it in the keyring",
                                screen.action_session)
            yield SystemCommand("Security audit", "The account and this machine against the best practices, with "
                                "fixes", screen.action_audit)
        yield SystemCommand("Help", "List every key and its binding id", self.action_help)


def run_app(services: Services, factory: ServicesFactory) -> int:
    KeytuiApp(services, factory).run()
    return 0
