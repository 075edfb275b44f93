"""PublishVmApp's parts: inputs, package, blobs, gallery, replication, report."""
