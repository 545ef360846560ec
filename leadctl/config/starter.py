"""The starter config `leadctl init` writes: no users or groups, commented examples only."""

STARTER = """\
# leadctl config: your team, its groups (distribution pools), caps and routing rules.
# Change it with `leadctl user ...`, `leadctl group ...`, `leadctl rule ...` and
# `leadctl settings ...`, or by hand: those commands change only the lines they must
# and keep your comments; `leadctl config history` lists every change.
# See sample-config.toml in the leadctl repository for a commented, complete team.

# ledger = "leadctl.db"          # SQLite ledger, relative to this file

[settings]
timezone = "UTC"                 # IANA name; caps count calendar days/months here
duplicates = []                  # ["email", "phone"]: give repeat leads to the earlier owner
isolate = false                  # trusted users see only their own leads
assign_to_creator = false        # a lead's created_by user gets it

# [users.tom]
# name = "Tom"
# role = "standard"              # standard | trusted | manager | admin | owner
# pickup = true                  # may pick up unassigned leads

# [groups.tele-sales]
# method = "sequential"          # sequential | random | weighted | balanced
# record_type = "lead"           # lead | contact | deal
# pickup_statuses = ["new"]
# [[groups.tele-sales.members]]
# user = "tom"
# daily = 10                     # 0 = no limit
# monthly = 200
# weight = 1                     # weighted groups: 10 gets twice the leads of 5

[routing]
# default_group = "tele-sales"   # where leads that match no rule go
# [[routing.rules]]
# group = "tele-sales"
# when = { source = "facebook" }
"""
