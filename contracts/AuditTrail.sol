// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AuditTrail
/// @notice Records that a share took place. The full audit contract (batches, node registry)
/// replaces this first version.
contract AuditTrail {
    /// @notice Emitted when a share is recorded.
    /// @param shareId The share's 128-bit id.
    /// @param dataHash SHA-256 of the shared plaintext.
    event ShareRecorded(bytes16 indexed shareId, bytes32 indexed dataHash);

    /// @notice The share was recorded before.
    error AuditTrailDuplicateShare(bytes16 shareId);

    mapping(bytes16 shareId => bool) private _recorded;

    /// @notice Records one share; each share id once.
    function recordShare(bytes16 shareId, bytes32 dataHash) external {
        if (_recorded[shareId]) revert AuditTrailDuplicateShare(shareId);
        _recorded[shareId] = true;
        emit ShareRecorded(shareId, dataHash);
    }

    /// @notice Whether `shareId` was recorded.
    function isRecorded(bytes16 shareId) external view returns (bool) {
        return _recorded[shareId];
    }
}
