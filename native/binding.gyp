{
  "targets": [
    {
      "target_name": "kernel_copy",
      "sources": ["common.c", "descriptors.c", "folder_probe.c", "kernel_copy.c", "md5_write.c", "memory.c", "object_path.c", "send_file.c", "stat_entries.c", "xattr.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldl"]
    }
  ]
}
