// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AuditTrail
/// @notice The public audit trail of DataMgmt Node. Nodes record the shares they send, anchor the
/// hashes of the signed delivery receipts they get back (one per transaction, or many at once as the
/// root of a Merkle tree), anchor the head of their hash-chained security log, and register the
/// identity behind their account so that every record can be attributed.
/// @dev Hashes are SHA-256 computed off chain (see the README, "Audit trail"): anyone holding a
/// receipt can recompute its leaf and check it against what is recorded here. Every record is
/// written once; a repeat is refused with a custom error, which makes the node's publisher safe to
/// retry after a crash.
contract AuditTrail {
    /// @notice Security tiers, weakest first: standard, high, maximum.
    uint8 private constant _MAX_TIER = 2;

    struct Share {
        address submitter;
        bytes32 dataHash;
        uint64 blockNumber;
    }

    struct Batch {
        address submitter;
        uint64 firstSequence;
        uint32 count;
        uint64 blockNumber;
    }

    struct NodeIdentity {
        bytes32 peerIdHash;
        bytes32 signingKeyFingerprint;
    }

    struct LogHead {
        uint64 sequence;
        bytes32 head;
    }

    mapping(address account => NodeIdentity) private _nodes;
    mapping(bytes32 peerIdHash => address) private _accountOfPeer;
    mapping(bytes16 shareId => Share) private _shares;
    mapping(bytes16 shareId => bytes32) private _receipts;
    mapping(bytes32 root => Batch) private _batches;
    mapping(address submitter => uint64) private _nextSequence;
    mapping(address submitter => LogHead) private _logHeads;

    /// @notice A node bound its account to its libp2p identity and signing key.
    /// @param account The account that sent the registration.
    /// @param peerIdHash SHA-256 of the node's PeerId (UTF-8).
    /// @param signingKeyFingerprint SHA-256 of the DER SPKI of the node's RSA-PSS signing key.
    event NodeRegistered(address indexed account, bytes32 indexed peerIdHash, bytes32 signingKeyFingerprint);

    /// @notice A share was recorded by its sender.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the shared plaintext.
    /// @param recipientHash SHA-256 of the recipient's PeerId.
    /// @param senderHash SHA-256 of the sender's PeerId.
    /// @param tier 0 standard, 1 high, 2 maximum.
    /// @param timestamp When the share was queued, Unix milliseconds.
    /// @param submitter The account that recorded it.
    event ShareRecorded(
        bytes16 indexed shareId,
        bytes32 indexed dataHash,
        bytes32 indexed recipientHash,
        bytes32 senderHash,
        uint8 tier,
        uint64 timestamp,
        address submitter
    );

    /// @notice The hash of a share's signed delivery receipt was anchored.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the shared plaintext.
    /// @param submitter The account that anchored it.
    /// @param receiptHash SHA-256 of the canonical receipt.
    event ReceiptAnchored(
        bytes16 indexed shareId,
        bytes32 indexed dataHash,
        address indexed submitter,
        bytes32 receiptHash
    );

    /// @notice A Merkle root over a consecutive run of a submitter's audit leaves was anchored.
    /// @param root The RFC 9162 Merkle tree head (SHA-256) of the leaves.
    /// @param submitter The account that anchored it.
    /// @param firstSequence Sequence number of the first leaf.
    /// @param count Number of leaves.
    event BatchAnchored(bytes32 indexed root, address indexed submitter, uint64 firstSequence, uint32 count);

    /// @notice The head of a node's hash-chained security log was anchored.
    /// @param submitter The account that anchored it.
    /// @param sequence Sequence number of the log row whose hash is `head`.
    /// @param head The hash of that row.
    event LogHeadAnchored(address indexed submitter, uint64 indexed sequence, bytes32 head);

    /// @notice The account is registered already.
    error AuditTrailNodeAlreadyRegistered(address account);
    /// @notice Another account registered this PeerId.
    error AuditTrailPeerIdTaken(bytes32 peerIdHash, address account);
    /// @notice A hash argument was zero.
    error AuditTrailZeroHash();
    /// @notice The tier is not 0, 1 or 2.
    error AuditTrailInvalidTier(uint8 tier);
    /// @notice The share was recorded before.
    error AuditTrailDuplicateShare(bytes16 shareId);
    /// @notice A receipt for the share was anchored before.
    error AuditTrailDuplicateReceipt(bytes16 shareId);
    /// @notice The root was anchored before.
    error AuditTrailDuplicateBatch(bytes32 root);
    /// @notice A batch must hold at least one leaf.
    error AuditTrailEmptyBatch();
    /// @notice The batch does not continue the submitter's leaf sequence.
    error AuditTrailSequenceMismatch(uint64 expected, uint64 actual);
    /// @notice The log head is not newer than the one anchored last.
    error AuditTrailStaleLogHead(uint64 lastSequence, uint64 sequence);

    /// @notice Binds the sender's account to a node identity, once per account and per PeerId.
    /// @param peerIdHash SHA-256 of the node's PeerId (UTF-8).
    /// @param signingKeyFingerprint SHA-256 of the DER SPKI of the node's signing key.
    function registerNode(bytes32 peerIdHash, bytes32 signingKeyFingerprint) external {
        if (peerIdHash == bytes32(0) || signingKeyFingerprint == bytes32(0)) revert AuditTrailZeroHash();
        if (_nodes[msg.sender].peerIdHash != bytes32(0)) revert AuditTrailNodeAlreadyRegistered(msg.sender);
        address holder = _accountOfPeer[peerIdHash];
        if (holder != address(0)) revert AuditTrailPeerIdTaken(peerIdHash, holder);
        _nodes[msg.sender] = NodeIdentity(peerIdHash, signingKeyFingerprint);
        _accountOfPeer[peerIdHash] = msg.sender;
        emit NodeRegistered(msg.sender, peerIdHash, signingKeyFingerprint);
    }

    /// @notice Records a share; each share id once.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the plaintext.
    /// @param senderHash SHA-256 of the sender's PeerId.
    /// @param recipientHash SHA-256 of the recipient's PeerId.
    /// @param tier 0 standard, 1 high, 2 maximum.
    /// @param timestamp When the share was queued, Unix milliseconds.
    function recordShare(
        bytes16 shareId,
        bytes32 dataHash,
        bytes32 senderHash,
        bytes32 recipientHash,
        uint8 tier,
        uint64 timestamp
    ) external {
        if (dataHash == bytes32(0) || senderHash == bytes32(0) || recipientHash == bytes32(0)) {
            revert AuditTrailZeroHash();
        }
        if (tier > _MAX_TIER) revert AuditTrailInvalidTier(tier);
        if (_shares[shareId].submitter != address(0)) revert AuditTrailDuplicateShare(shareId);
        _shares[shareId] = Share(msg.sender, dataHash, uint64(block.number));
        emit ShareRecorded(shareId, dataHash, recipientHash, senderHash, tier, timestamp, msg.sender);
    }

    /// @notice Anchors the hash of a share's canonical delivery receipt; one receipt per share.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the plaintext (indexed, so the receipt is found by data hash).
    /// @param receiptHash SHA-256 of the canonical receipt.
    function anchorReceipt(bytes16 shareId, bytes32 dataHash, bytes32 receiptHash) external {
        if (dataHash == bytes32(0) || receiptHash == bytes32(0)) revert AuditTrailZeroHash();
        if (_receipts[shareId] != bytes32(0)) revert AuditTrailDuplicateReceipt(shareId);
        _receipts[shareId] = receiptHash;
        emit ReceiptAnchored(shareId, dataHash, msg.sender, receiptHash);
    }

    /// @notice Anchors the Merkle root of the sender's next `count` leaves, which must continue its
    /// sequence exactly: a batch sent twice is refused, a gap is refused.
    /// @param root RFC 9162 Merkle tree head of the leaves.
    /// @param firstSequence Sequence number of the first leaf; the sender's next expected one.
    /// @param count Number of leaves, at least one.
    function anchorBatch(bytes32 root, uint64 firstSequence, uint32 count) external {
        if (root == bytes32(0)) revert AuditTrailZeroHash();
        if (count == 0) revert AuditTrailEmptyBatch();
        if (_batches[root].submitter != address(0)) revert AuditTrailDuplicateBatch(root);
        uint64 expected = _nextSequence[msg.sender];
        if (firstSequence != expected) revert AuditTrailSequenceMismatch(expected, firstSequence);
        _nextSequence[msg.sender] = expected + count;
        _batches[root] = Batch(msg.sender, firstSequence, count, uint64(block.number));
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

    /// @notice The identity registered for `account` (zeros if none).
    function nodeOf(address account) external view returns (bytes32 peerIdHash, bytes32 signingKeyFingerprint) {
        NodeIdentity memory n = _nodes[account];
        return (n.peerIdHash, n.signingKeyFingerprint);
    }

    /// @notice Who recorded `shareId`, its data hash and block (zeros if not recorded).
    function shareOf(bytes16 shareId) external view returns (address submitter, bytes32 dataHash, uint64 blockNumber) {
        Share memory s = _shares[shareId];
        return (s.submitter, s.dataHash, s.blockNumber);
    }

    /// @notice The receipt hash anchored for `shareId` (zero if none).
    function receiptOf(bytes16 shareId) external view returns (bytes32) {
        return _receipts[shareId];
    }

    /// @notice Who anchored `root`, its first sequence, leaf count and block (zeros if not anchored).
    function batchOf(bytes32 root)
        external
        view
        returns (address submitter, uint64 firstSequence, uint32 count, uint64 blockNumber)
    {
        Batch memory b = _batches[root];
        return (b.submitter, b.firstSequence, b.count, b.blockNumber);
    }

    /// @notice The sequence number the next batch of `submitter` must start with.
    function nextSequence(address submitter) external view returns (uint64) {
        return _nextSequence[submitter];
    }

    /// @notice The last security-log head anchored by `submitter`.
    function logHeadOf(address submitter) external view returns (uint64 sequence, bytes32 head) {
        LogHead memory h = _logHeads[submitter];
        return (h.sequence, h.head);
    }
}
