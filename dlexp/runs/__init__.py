"""Run folders: their schema (``schema``), writing them (``folder``, which re-exports the
rest), reading them back (``read``), the index of a runs folder (``index``), choosing the
best (``select``) and what differs between two (``diff``)."""
