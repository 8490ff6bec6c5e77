"""Invokers: remote functions as plain callables, so every callwise decorator applies.

- :class:`HttpFunction` / :class:`AsyncHttpFunction`: HTTP triggers and API gateway
  routes (extra ``http``: httpx).
- :class:`LambdaFunction`: AWS Lambda through boto3 (extra ``aws``).
- :class:`FcFunction`: Alibaba Cloud Function Compute 3.0 through its SDK (extra
  ``alibaba``).

The SDKs are imported when an invoker is created; a missing one raises
:class:`resilience.MissingDependency` naming the extra to install.
"""

from .alibaba import FcFunction
from .aws import LambdaFunction
from .http import AsyncHttpFunction, HttpFunction

__all__ = ["AsyncHttpFunction", "FcFunction", "HttpFunction", "LambdaFunction"]
