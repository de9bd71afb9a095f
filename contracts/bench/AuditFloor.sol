// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AuditFloor
/// @notice Benchmark baseline, never deployed by the node: the same events as AuditTrail's share,
/// receipt and batch calls with no checks at all, so `bench/audit` can print the events-only floor
/// that the real contract's gas is measured against in the same run.
contract AuditFloor {
    event ShareRecorded(
        bytes16 indexed shareId,
        bytes32 indexed dataHash,
        bytes32 indexed recipientHash,
        address submitter,
        bytes32 leaf
    );
    event ReceiptAnchored(bytes16 indexed shareId, address indexed submitter, bytes32 receiptHash);
    event BatchAnchored(bytes32 indexed root, address indexed submitter, uint64 firstSequence, uint32 count);

    function recordShare(bytes16 shareId, bytes32 dataHash, bytes32 recipientHash, bytes32 leaf) external {
        emit ShareRecorded(shareId, dataHash, recipientHash, msg.sender, leaf);
    }

    function anchorReceipt(bytes16 shareId, bytes32 receiptHash) external {
        emit ReceiptAnchored(shareId, msg.sender, receiptHash);
    }

    function anchorBatch(bytes32 root, uint64 firstSequence, uint32 count) external {
        emit BatchAnchored(root, msg.sender, firstSequence, count);
    }
}
