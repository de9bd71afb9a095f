// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AuditTrail
/// @notice The public audit trail of DataMgmt Node. Nodes publish their identity records, record the
/// shares they send, anchor the hashes of the signed delivery receipts they get back (one per
/// transaction, or many at once as the root of a Merkle tree), and anchor the head of their
/// hash-chained security log.
/// @dev Nothing here is first come, first served: every record is keyed by the account that sent it
/// (`submitter`, always `msg.sender`), so no account can claim, squat or block another's PeerId,
/// share ids, receipts or batches. What a record proves is decided off chain (see
/// docs/AUDIT.md): an event counts for a node only when its submitter is the account that the node's
/// identity record binds to its PeerId, and that record is signed by the PeerId's own key and by the
/// account. State that events can carry stays out of storage: the chain's logs are the trail.
/// Hashes are SHA-256 computed off chain, so anyone holding a receipt can recompute its leaf. The two
/// calls made for every share check nothing: a wrong or zero hash matches no record off chain, and
/// each check would cost gas on the path that the per-share bound (50,000 gas) is measured on.
contract AuditTrail {
    struct LogHead {
        uint64 sequence;
        bytes32 head;
    }

    mapping(address account => bytes32 recordHash) private _identities;
    mapping(address submitter => LogHead) private _logHeads;

    /// @notice An account published a node identity record.
    /// @param account The account that sent it.
    /// @param peerIdHash SHA-256 of the PeerId the record names (UTF-8), as the sender claims it.
    /// @param recordHash SHA-256 of `record`.
    /// @param record The canonical identity record with its two signatures (UTF-8 JSON).
    event NodeRegistered(address indexed account, bytes32 indexed peerIdHash, bytes32 recordHash, bytes record);

    /// @notice A share was recorded by its sender.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the shared plaintext.
    /// @param recipientHash SHA-256 of the recipient's PeerId.
    /// @param submitter The account that recorded it.
    /// @param leaf SHA-256 of the canonical share record (sender, recipient, tier, time: see
    /// docs/AUDIT.md), the same leaf a batch puts under its Merkle root.
    event ShareRecorded(
        bytes16 indexed shareId,
        bytes32 indexed dataHash,
        bytes32 indexed recipientHash,
        address submitter,
        bytes32 leaf
    );

    /// @notice The hash of a share's signed delivery receipt was anchored.
    /// @param shareId The share's 128-bit id.
    /// @param submitter The account that anchored it.
    /// @param receiptHash SHA-256 of the canonical receipt.
    event ReceiptAnchored(bytes16 indexed shareId, address indexed submitter, bytes32 receiptHash);

    /// @notice A Merkle root over a consecutive run of a submitter's audit leaves was anchored.
    /// @param root The RFC 9162 Merkle tree head (SHA-256) of the leaves.
    /// @param submitter The account that anchored it.
    /// @param firstSequence Sequence number of the first leaf in the submitter's own numbering.
    /// @param count Number of leaves.
    event BatchAnchored(bytes32 indexed root, address indexed submitter, uint64 firstSequence, uint32 count);

    /// @notice The head of a node's hash-chained security log was anchored.
    /// @param submitter The account that anchored it.
    /// @param sequence Sequence number of the log row whose hash is `head`.
    /// @param head The hash of that row.
    event LogHeadAnchored(address indexed submitter, uint64 indexed sequence, bytes32 head);

    /// @notice A hash argument was zero.
    error AuditTrailZeroHash();
    /// @notice The identity record was empty.
    error AuditTrailEmptyRecord();
    /// @notice A batch must hold at least one leaf.
    error AuditTrailEmptyBatch();
    /// @notice The log head is not newer than the one anchored last.
    error AuditTrailStaleLogHead(uint64 lastSequence, uint64 sequence);

    /// @notice Publishes the sender's node identity record; a later one replaces it (key rotation).
    /// @param peerIdHash SHA-256 of the PeerId the record names (UTF-8), so the record is found by it.
    /// @param record The canonical identity record with its signatures.
    function registerNode(bytes32 peerIdHash, bytes calldata record) external {
        if (peerIdHash == bytes32(0)) revert AuditTrailZeroHash();
        if (record.length == 0) revert AuditTrailEmptyRecord();
        bytes32 recordHash = sha256(record);
        _identities[msg.sender] = recordHash;
        emit NodeRegistered(msg.sender, peerIdHash, recordHash, record);
    }

    /// @notice Records a share sent by the sender's node.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the plaintext.
    /// @param recipientHash SHA-256 of the recipient's PeerId.
    /// @param leaf SHA-256 of the canonical share record.
    function recordShare(bytes16 shareId, bytes32 dataHash, bytes32 recipientHash, bytes32 leaf) external {
        emit ShareRecorded(shareId, dataHash, recipientHash, msg.sender, leaf);
    }

    /// @notice Anchors the hash of a share's canonical delivery receipt.
    /// @param shareId The share's 128-bit id.
    /// @param receiptHash SHA-256 of the canonical receipt.
    function anchorReceipt(bytes16 shareId, bytes32 receiptHash) external {
        emit ReceiptAnchored(shareId, msg.sender, receiptHash);
    }

    /// @notice Anchors the Merkle root of `count` of the sender's leaves.
    /// @param root RFC 9162 Merkle tree head of the leaves.
    /// @param firstSequence Sequence number of the first leaf.
    /// @param count Number of leaves, at least one.
    function anchorBatch(bytes32 root, uint64 firstSequence, uint32 count) external {
        if (root == bytes32(0)) revert AuditTrailZeroHash();
        if (count == 0) revert AuditTrailEmptyBatch();
        emit BatchAnchored(root, msg.sender, firstSequence, count);
    }

    /// @notice Anchors the head of the sender's security log; sequences must grow.
    /// @param sequence Sequence number of the row whose hash is `head`.
    /// @param head That row's hash.
    function anchorLogHead(uint64 sequence, bytes32 head) external {
        if (head == bytes32(0)) revert AuditTrailZeroHash();
        LogHead memory last = _logHeads[msg.sender];
        if (last.head != bytes32(0) && sequence <= last.sequence) {
            revert AuditTrailStaleLogHead(last.sequence, sequence);
        }
        _logHeads[msg.sender] = LogHead(sequence, head);
        emit LogHeadAnchored(msg.sender, sequence, head);
    }

    /// @notice SHA-256 of the identity record `account` published last (zero if none).
    function identityOf(address account) external view returns (bytes32) {
        return _identities[account];
    }

    /// @notice The last security-log head anchored by `submitter`.
    function logHeadOf(address submitter) external view returns (uint64 sequence, bytes32 head) {
        LogHead memory h = _logHeads[submitter];
        return (h.sequence, h.head);
    }
}
