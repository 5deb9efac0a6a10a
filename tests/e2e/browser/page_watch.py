"""What a browser context saw go wrong: Content-Security-Policy violations (the
`securitypolicyviolation` events of every frame, the sandboxed preview included, and the
browser's own console reports), uncaught script errors, and server errors (5xx) on any request.
A console page causes none of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, WebError

BINDING = "__strongroomCspViolation"
# Installed through the DevTools protocol before any page script runs; the CSP does not apply to
# it, so the watcher itself can't cause a violation.
LISTENER = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
  window.{BINDING}([event.violatedDirective, event.blockedURI || "inline",
                    event.documentURI, event.sourceFile + ":" + event.lineNumber].join(" | "));
}}, true);
"""


@dataclass
class PageWatch:
    violations: list[str] = field(default_factory=list)
    console_reports: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, context: BrowserContext) -> PageWatch:
        watch = cls()
        context.expose_binding(BINDING, watch._on_violation)
        context.add_init_script(LISTENER)
        context.on("console", watch._on_console)
        context.on("weberror", watch._on_error)
        context.on("response", watch._on_response)
        return watch

    def problems(self) -> list[str]:
        return [
            *(f"violation: {v}" for v in self.violations),
            *(f"console: {c}" for c in self.console_reports),
            *(f"script error: {e}" for e in self.script_errors),
            *(f"server error: {s}" for s in self.server_errors),
        ]

    def expect_violation(self, page: Page, *needles: str, timeout_ms: int = 5_000) -> None:
        """Wait until a recorded violation mentions every needle, then forget what was recorded.

        For tests that break the policy on purpose, to prove this watch hears it.
        """
        for _ in range(timeout_ms // 100):
            if any(all(n in v for n in needles) for v in self.violations):
                self.violations.clear()
                self.console_reports.clear()
                return
            page.wait_for_timeout(100)  # lets Playwright deliver the binding calls
        raise AssertionError(f"no violation mentioning {needles}; recorded: {self.violations}")

    def _on_violation(self, source: dict[str, Any], description: str) -> None:
        del source  # the frame is named in the description (documentURI)
        self.violations.append(description)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console_reports.append(f"{message.location.get('url', '')}: {message.text}")

    def _on_error(self, error: WebError) -> None:
        self.script_errors.append(str(error.error))

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")
