"""The ``s3`` storage driver (also ``s3aws``): Amazon S3 and S3-compatible services via boto3.

The package splits the driver the way its concerns split: :mod:`.parameters` reads
distribution's ``storage.s3`` parameters, :mod:`.client` builds the boto3 client and maps
its failures onto the contract's errors, :mod:`.writer` is the resumable multipart writer,
:mod:`.uploads` the multipart-upload requests it shares with copies and cleanup,
:mod:`.listing` puts flat listings into walk order, and :mod:`.driver` holds the verbs.
boto3 is imported only here, when the driver is asked for.
"""

from distribution_storage.drivers.s3.driver import S3Driver
from distribution_storage.drivers.s3.parameters import S3Settings, read_settings

__all__ = ["S3Driver", "S3Settings", "read_settings"]
