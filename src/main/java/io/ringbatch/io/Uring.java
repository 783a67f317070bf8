package io.ringbatch.io;

/**
 * The io_uring ABI as {@code <linux/io_uring.h>} defines it: every offset and constant the engine
 * uses, by name. Offsets are in bytes from the start of the named structure.
 */
final class Uring {
    private Uring() {
    }

    // struct io_uring_params (120 bytes)
    static final int PARAMS_SIZE = 120;
    static final int P_SQ_ENTRIES = 0;
    static final int P_CQ_ENTRIES = 4;
    static final int P_FLAGS = 8;
    static final int P_SQ_THREAD_CPU = 12;
    static final int P_SQ_THREAD_IDLE = 16;
    static final int P_FEATURES = 20;
    static final int P_WQ_FD = 24;
    static final int P_SQ_OFF = 40; // struct io_sqring_offsets (40 bytes)
    static final int P_CQ_OFF = 80; // struct io_cqring_offsets (40 bytes)

    // struct io_sqring_offsets, relative to P_SQ_OFF
    static final int SQ_OFF_HEAD = 0;
    static final int SQ_OFF_TAIL = 4;
    static final int SQ_OFF_RING_MASK = 8;
    static final int SQ_OFF_RING_ENTRIES = 12;
    static final int SQ_OFF_FLAGS = 16;
    static final int SQ_OFF_DROPPED = 20;
    static final int SQ_OFF_ARRAY = 24;

    // struct io_cqring_offsets, relative to P_CQ_OFF
    static final int CQ_OFF_HEAD = 0;
    static final int CQ_OFF_TAIL = 4;
    static final int CQ_OFF_RING_MASK = 8;
    static final int CQ_OFF_RING_ENTRIES = 12;
    static final int CQ_OFF_OVERFLOW = 16;
    static final int CQ_OFF_CQES = 20;
    static final int CQ_OFF_FLAGS = 24;

    // struct io_uring_sqe (64 bytes)
    static final int SQE_SIZE = 64;
    static final int SQE_OPCODE = 0;
    static final int SQE_FLAGS = 1;
    static final int SQE_IOPRIO = 2;
    static final int SQE_FD = 4;
    static final int SQE_OFF = 8;
    static final int SQE_ADDR = 16;
    static final int SQE_LEN = 24;
    static final int SQE_RW_FLAGS = 28;
    static final int SQE_USER_DATA = 32;
    static final int SQE_BUF_INDEX = 40;
    static final int SQE_PERSONALITY = 42;
    static final int SQE_FILE_INDEX = 44;
    static final int SQE_ADDR3 = 48;

    // struct io_uring_cqe (16 bytes)
    static final int CQE_SIZE = 16;
    static final int CQE_USER_DATA = 0;
    static final int CQE_RES = 8;
    static final int CQE_FLAGS = 12;

    // mmap offsets
    static final long OFF_SQ_RING = 0L;
    static final long OFF_CQ_RING = 0x8000000L;
    static final long OFF_SQES = 0x10000000L;

    // io_uring_setup flags
    static final int SETUP_CQSIZE = 1 << 3; // Linux 5.5
    static final int SETUP_CLAMP = 1 << 4; // Linux 5.6
    static final int SETUP_SUBMIT_ALL = 1 << 7; // Linux 5.18

    // features reported by the kernel
    static final int FEAT_SINGLE_MMAP = 1; // Linux 5.4
    static final int FEAT_NODROP = 1 << 1; // Linux 5.5
    static final int FEAT_EXT_ARG = 1 << 8; // Linux 5.11

    // io_uring_enter flags
    static final int ENTER_GETEVENTS = 1;
    static final int ENTER_EXT_ARG = 1 << 3; // Linux 5.11

    // struct io_uring_getevents_arg (24 bytes) and struct __kernel_timespec (16 bytes)
    static final int GETEVENTS_ARG_SIZE = 24;
    static final int GETEVENTS_ARG_TS = 16;
    static final int TIMESPEC_SIZE = 16;

    // io_uring_register opcodes
    static final int REGISTER_PROBE = 8;
    static final int PROBE_HEADER_SIZE = 16;
    static final int PROBE_OP_SIZE = 8;
    static final int PROBE_OP_FLAGS = 2;
    static final int OP_SUPPORTED = 1;

    // opcodes
    static final byte OP_NOP = 0;
    static final byte OP_TIMEOUT = 11;
    static final byte OP_ASYNC_CANCEL = 14;
    static final byte OP_CLOSE = 19; // Linux 5.6
    static final byte OP_STATX = 21; // Linux 5.6
    static final byte OP_READ = 22;
    static final byte OP_OPENAT2 = 28; // Linux 5.6

    // struct open_how (openat2) and struct statx
    static final int OPEN_HOW_SIZE = 24;
    static final int STATX_SIZE = 256;
}
