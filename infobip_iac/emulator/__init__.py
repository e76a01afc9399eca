"""A stand-in for Infobip's account-management API over real HTTP on loopback.

It imports nothing from the client or the engine, so that a misunderstanding of the API
shared by both cannot hide behind green tests.
"""
