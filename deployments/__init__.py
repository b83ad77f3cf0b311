"""Deployments: see README."""
