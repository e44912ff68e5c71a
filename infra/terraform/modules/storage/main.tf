# The DSS upload bucket: versioned (a re-upload never loses the previous file,
# so a bad load can be rolled back by reloading the earlier version), encrypted,
# never public, and it tells EventBridge about new objects (the ETL trigger).

resource "aws_s3_bucket" "dss" {
  bucket = var.bucket_name
}

resource "aws_s3_bucket_ownership_controls" "dss" {
  bucket = aws_s3_bucket.dss.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "dss" {
  bucket = aws_s3_bucket.dss.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "dss" {
  bucket = aws_s3_bucket.dss.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "dss" {
  bucket = aws_s3_bucket.dss.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "dss" {
  bucket = aws_s3_bucket.dss.id

  # Loaded files are read once; after a month they move to infrequent access.
  rule {
    id     = "uploads-to-infrequent-access"
    status = "Enabled"

    filter {
      prefix = var.upload_prefix
    }

    transition {
      days          = var.transition_to_ia_days
      storage_class = "STANDARD_IA"
    }
  }

  # Replaced versions are kept for rollbacks, then expire.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.dss]
}

# TLS only.
data "aws_iam_policy_document" "dss" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.dss.arn,
      "${aws_s3_bucket.dss.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "dss" {
  bucket = aws_s3_bucket.dss.id
  policy = data.aws_iam_policy_document.dss.json

  depends_on = [aws_s3_bucket_public_access_block.dss]
}

# "Object Created" events go to EventBridge, where modules/etl starts the task.
resource "aws_s3_bucket_notification" "dss" {
  bucket      = aws_s3_bucket.dss.id
  eventbridge = true
}
