/* The compiled Danish lexicon (see lexicon.c), linked in as read-only data. */
    .section .rodata
    .balign 16
    .global dks_lexicon_start
    .global dks_lexicon_end
dks_lexicon_start:
    .incbin DKS_LEXICON_FILE
dks_lexicon_end:
    .section .note.GNU-stack,"",@progbits
