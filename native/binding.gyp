{
  "targets": [
    {
      "target_name": "daft_native",
      "sources": ["src/addon.cc", "src/conv_generic.cc", "src/conv_avx2.cc", "src/conv_avx512.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-ffp-contract=fast", "-fno-math-errno"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["target_arch!='x64'", { "defines": ["DAFT_NO_X86"] }],
        ["OS=='mac'", { "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=fast"] } }]
      ]
    }
  ]
}
