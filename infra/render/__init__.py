"""The offline render of the platform: files for review, a plan summary and the policy verdict."""
