"""``dlexp serve``: the report's page served on this machine, updated while runs go
(:mod:`dlexp.report.serve`). Never imports TensorFlow, Keras or JAX."""

from __future__ import annotations

import click

from dlexp.cli.common import warn


@click.command()
@click.argument("runs_dir", metavar="RUNS_DIR", default="runs", required=False)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The port to answer on; 0 picks a free one (the URL printed says which).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to bind: this machine only by default. Another (0.0.0.0: every "
    "network) lets anyone who reaches it read the runs: there is no authentication.",
)
def serve(runs_dir, port, host):
    """Serve RUNS_DIR's report page at http://127.0.0.1:PORT/, kept up to date while
    a search runs: its trials appear as they end, and a running run shows its latest
    epoch, without a reload. A row's pictures are drawn when it is opened.

    Reads RUNS_DIR and never writes there (the page lives in a temporary folder,
    removed when the server stops); serves the page and files under RUNS_DIR only.
    Ctrl-C stops it. Uses Python's own http.server: nothing to install.

    \b
    Examples:
      dlexp serve runs/
      dlexp serve runs/ --port 0               # any free port
      dlexp search configs/grid.yaml & dlexp serve runs/grid
      dlexp serve runs/ --host 0.0.0.0         # others on the network too: no password
    """
    from dlexp.core import interrupt
    from dlexp.report.serve import Server, is_loopback

    if not is_loopback(host):
        warn(
            f"serving on {host}: there is no authentication, so anyone who can reach "
            f"this machine on port {port or '(the one printed)'} can read the runs"
        )
    with interrupt.handled():  # Ctrl-C and kill (SIGTERM) both stop it cleanly
        try:
            with Server(runs_dir, host, port) as server:
                click.echo(f"Serving {runs_dir} at {server.url} (Ctrl-C stops it)")
                try:
                    server.serve_forever()
                except KeyboardInterrupt:
                    interrupt.ignore()  # a second Ctrl-C cannot cut the clean-up short
        except KeyboardInterrupt:  # while the first report was being read
            pass
    click.echo("stopped")
