"""`pytask setup environments ...` and `pytask approvals list|approve|reject ...`."""

from __future__ import annotations

import argparse
import sys

from azure.devops.connection import Connection
from azure.devops.exceptions import AzureDevOpsClientError
from msrest.exceptions import ClientRequestError

from pytask.admin.approvals import Approvals
from pytask.admin.connection import PAT_ENV, AdminError, connect
from pytask.admin.environments import BusinessHours, Protection, Setup


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        connection = connect(args.organization, args.pat_env)
        if args.command == "setup":
            return _setup(args, connection)
        return _approvals(args, connection)
    except AdminError as exc:
        print(f"pytask {args.command}: {exc}", file=sys.stderr)
        return 1
    except (AzureDevOpsClientError, ClientRequestError) as exc:
        print(f"pytask {args.command}: Azure DevOps answered: {exc}", file=sys.stderr)
        return 1


def _setup(args: argparse.Namespace, connection: Connection) -> int:
    names = [n.strip() for n in args.environments.split(",") if n.strip()]
    if not names:
        raise AdminError("--environments names no environment")
    protected = (
        [n.strip() for n in args.protect.split(",") if n.strip()] if args.protect else names[1:]
    )
    unknown = set(protected) - set(names)
    if unknown:
        raise AdminError(f"--protect names environments not in --environments: {sorted(unknown)}")
    protection = Protection(
        approvers=[a.strip() for a in (args.approvers or "").split(",") if a.strip()],
        min_approvers=args.min_approvers,
        requester_cannot_approve=not args.allow_requester,
        business_hours=BusinessHours.parse(args.business_hours) if args.business_hours else None,
        exclusive_lock=args.exclusive_lock,
    )
    setup = Setup(connection, args.project)
    for name in names:
        environment = setup.environment(name)
        if name in protected:
            setup.protect(environment, protection)
    return 0


def _approvals(args: argparse.Namespace, connection: Connection) -> int:
    approvals = Approvals(connection, args.project)
    if args.action == "list":
        pending = approvals.pending()
        if not pending:
            print("no pending approvals")
        for item in pending:
            gate = (
                f"gate in {item.previous_stage}: {item.gate_verdict}"
                if item.previous_stage
                else "no earlier gate"
            )
            print(f"{item.id}  {item.pipeline} run {item.run}  stage {item.stage}  ({gate})")
        return 0
    status = "approved" if args.action == "approve" else "rejected"
    done = approvals.respond(args.approval_id, status, args.comment)
    print(f"{args.approval_id}: {status} (approval is now {done['status']})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytask")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--organization", required=True, help="https://dev.azure.com/ORG")
        p.add_argument("--project", required=True)
        p.add_argument(
            "--pat-env",
            default=PAT_ENV,
            help=f"environment variable holding a PAT (default {PAT_ENV}); "
            "without one, the Azure CLI login is used",
        )

    setup = sub.add_parser("setup", help="create environments and their checks")
    setup_sub = setup.add_subparsers(dest="what", required=True)
    envs = setup_sub.add_parser("environments")
    common(envs)
    envs.add_argument("--environments", required=True, help="comma-separated, e.g. dev,test,prod")
    envs.add_argument(
        "--protect", help="environments that get the checks (default: all but the first)"
    )
    envs.add_argument("--approvers", help="comma-separated emails or names")
    envs.add_argument("--min-approvers", type=int, default=1)
    envs.add_argument("--allow-requester", action="store_true", help="let the requester approve")
    envs.add_argument("--business-hours", help="e.g. 'Mon-Fri 09:00-17:00 UTC'")
    envs.add_argument("--exclusive-lock", action="store_true")

    approvals = sub.add_parser("approvals", help="pending approvals for release managers")
    approvals_sub = approvals.add_subparsers(dest="action", required=True)
    listing = approvals_sub.add_parser("list")
    common(listing)
    for action in ("approve", "reject"):
        answer = approvals_sub.add_parser(action)
        common(answer)
        answer.add_argument("approval_id")
        answer.add_argument("--comment", default="")
    return parser
