"""Which lock a statement takes on a table, and what that lock keeps waiting. A statement
queued for a lock makes every later query on the table queue behind it, so the modes that
conflict with plain reads or writes need a lock_timeout."""

from __future__ import annotations

from typing import Any

from sqlmig.core.pg_ast import enum_name

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"

# Weakest first. The weaker modes (ROW EXCLUSIVE and below) are what reads and writes take.
MODES = (SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE)
BLOCKS = {
    ACCESS_EXCLUSIVE: "blocks every read and write",
    EXCLUSIVE: "blocks every write",
    SHARE_ROW_EXCLUSIVE: "blocks every write",
    SHARE: "blocks every write",
    SHARE_UPDATE_EXCLUSIVE: "blocks other schema changes and VACUUM, not reads or writes",
}
# LOCK TABLE's modes, as pglast numbers them (AccessShareLock = 1 ... AccessExclusiveLock = 8).
LOCK_STATEMENT_MODES = {4: SHARE_UPDATE_EXCLUSIVE, 5: SHARE, 6: SHARE_ROW_EXCLUSIVE,
                        7: EXCLUSIVE, 8: ACCESS_EXCLUSIVE}

# ALTER TABLE subcommands taking less than ACCESS EXCLUSIVE (AlterTableGetLockLevel).
_ALTER_TABLE = {
    "AT_ValidateConstraint": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetStatistics": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetRelOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetRelOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": SHARE_UPDATE_EXCLUSIVE,
    "AT_AttachPartition": SHARE_UPDATE_EXCLUSIVE,
    "AT_EnableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableAlwaysTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableReplicaTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": SHARE_ROW_EXCLUSIVE,
}


def strongest(modes: Any) -> str | None:
    ranked = [MODES.index(mode) for mode in modes if mode in MODES]
    return MODES[max(ranked)] if ranked else None


def alter_table(commands: Any) -> str:
    """The lock ALTER TABLE takes on its table: the strongest its subcommands need."""
    modes = []
    for command in commands or ():
        subtype = enum_name(command.subtype)
        definition = command.def_
        if subtype == "AT_AddConstraint" and enum_name(definition.contype) == "CONSTR_FOREIGN":
            modes.append(SHARE_ROW_EXCLUSIVE)
        elif subtype == "AT_DetachPartition" and definition.concurrent:
            modes.append(SHARE_UPDATE_EXCLUSIVE)
        else:
            modes.append(_ALTER_TABLE.get(subtype, ACCESS_EXCLUSIVE))
    return strongest(modes) or ACCESS_EXCLUSIVE


def blocks_traffic(mode: str) -> bool:
    """Conflicts with reads or writes, so queueing for it stalls the application."""
    return MODES.index(mode) >= MODES.index(SHARE)
