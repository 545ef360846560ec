"""The ways a lead changes hands, each a use case over the pure domain (`engine`, `methods`,
`availability`, `rights`): load what deciding needs once (`state`), decide (the engine's
`Allocator`, asked the same question on every path), and write what was decided as data
(`changes.Changes`) through the one write path (`changes.apply`), in one transaction.
"""
