package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/s3api/sigv4"
	"github.com/filesphere/filesphere/storage"
)

// ErrorCode is an S3 error code such as "NoSuchKey".
type ErrorCode string

// apiErrorDef is one row of the S3 error table.
type apiErrorDef struct {
	Status  int
	Message string
}

// The S3 error codes FileSphere answers with. Statuses and messages follow
// the AWS S3 error reference.
const (
	ErrAccessDenied                   ErrorCode = "AccessDenied"
	ErrAuthorizationHeaderMalformed   ErrorCode = "AuthorizationHeaderMalformed"
	ErrAuthorizationQueryParamsError  ErrorCode = "AuthorizationQueryParametersError"
	ErrBadDigest                      ErrorCode = "BadDigest"
	ErrBucketAlreadyExists            ErrorCode = "BucketAlreadyExists"
	ErrBucketAlreadyOwnedByYou        ErrorCode = "BucketAlreadyOwnedByYou"
	ErrBucketNotEmpty                 ErrorCode = "BucketNotEmpty"
	ErrEntityTooLarge                 ErrorCode = "EntityTooLarge"
	ErrEntityTooSmall                 ErrorCode = "EntityTooSmall"
	ErrIncompleteBody                 ErrorCode = "IncompleteBody"
	ErrInternalError                  ErrorCode = "InternalError"
	ErrInvalidAccessKeyID             ErrorCode = "InvalidAccessKeyId"
	ErrInvalidArgument                ErrorCode = "InvalidArgument"
	ErrInvalidBucketName              ErrorCode = "InvalidBucketName"
	ErrInvalidDigest                  ErrorCode = "InvalidDigest"
	ErrInvalidPart                    ErrorCode = "InvalidPart"
	ErrInvalidPartOrder               ErrorCode = "InvalidPartOrder"
	ErrInvalidRange                   ErrorCode = "InvalidRange"
	ErrInvalidRequest                 ErrorCode = "InvalidRequest"
	ErrInvalidBucketState             ErrorCode = "InvalidBucketState"
	ErrInvalidClusterState            ErrorCode = "InvalidClusterState"
	ErrKeyTooLong                     ErrorCode = "KeyTooLongError"
	ErrMalformedXML                   ErrorCode = "MalformedXML"
	ErrMethodNotAllowed               ErrorCode = "MethodNotAllowed"
	ErrMissingContentLength           ErrorCode = "MissingContentLength"
	ErrMissingSecurityHeader          ErrorCode = "MissingSecurityHeader"
	ErrNoSuchBucket                   ErrorCode = "NoSuchBucket"
	ErrNoSuchKey                      ErrorCode = "NoSuchKey"
	ErrNoSuchNode                     ErrorCode = "NoSuchNode"
	ErrNoSuchUpload                   ErrorCode = "NoSuchUpload"
	ErrNoSuchVersion                  ErrorCode = "NoSuchVersion"
	ErrNotImplemented                 ErrorCode = "NotImplemented"
	ErrNotModified                    ErrorCode = "NotModified"
	ErrPreconditionFailed             ErrorCode = "PreconditionFailed"
	ErrRequestTimeout                 ErrorCode = "RequestTimeout"
	ErrRequestTimeTooSkewed           ErrorCode = "RequestTimeTooSkewed"
	ErrSignatureDoesNotMatch          ErrorCode = "SignatureDoesNotMatch"
	ErrServiceUnavailable             ErrorCode = "ServiceUnavailable"
	ErrSlowDown                       ErrorCode = "SlowDown"
	ErrXAmzContentSHA256Mismatch      ErrorCode = "XAmzContentSHA256Mismatch"
	ErrConditionalRequestConflict     ErrorCode = "ConditionalRequestConflict"
	ErrMetadataTooLarge               ErrorCode = "MetadataTooLarge"
	ErrRequestHeaderSectionTooLarge   ErrorCode = "RequestHeaderSectionTooLarge"
	ErrMalformedTrailer               ErrorCode = "MalformedTrailerError"
	ErrInvalidEncodingType            ErrorCode = "InvalidEncodingType"
	ErrUnexpectedContent              ErrorCode = "UnexpectedContent"
	ErrInvalidLocationConstraint      ErrorCode = "InvalidLocationConstraint"
	ErrIllegalVersioningConfiguration ErrorCode = "IllegalVersioningConfigurationException"
	ErrMalformedPOSTRequest           ErrorCode = "MalformedPOSTRequest"
	ErrInvalidObjectState             ErrorCode = "InvalidObjectState"
	ErrNoSuchBucketPolicy             ErrorCode = "NoSuchBucketPolicy"
	ErrInvalidPartNumber              ErrorCode = "InvalidPartNumber"
	ErrInvalidStorageClass            ErrorCode = "InvalidStorageClass"
	ErrBadRequest                     ErrorCode = "BadRequest"
	ErrInvalidTag                     ErrorCode = "InvalidTag"
	ErrNoSuchTagSet                   ErrorCode = "NoSuchTagSet"
	ErrObjectLockConfigNotFound       ErrorCode = "ObjectLockConfigurationNotFoundError"
	ErrNoSuchObjectLockConfig         ErrorCode = "NoSuchObjectLockConfiguration"
	// Server-side encryption: S3 answers KMS failures with KMS's own
	// exception names.
	ErrKMSNotFound                  ErrorCode = "KMS.NotFoundException"
	ErrKMSDisabled                  ErrorCode = "KMS.DisabledException"
	ErrKMSAlreadyExists             ErrorCode = "KMS.AlreadyExistsException"
	ErrNoSuchEncryptionConfig       ErrorCode = "ServerSideEncryptionConfigurationNotFoundError"
	ErrAccessForbidden              ErrorCode = "AccessForbidden"
	ErrNoSuchCORSConfiguration      ErrorCode = "NoSuchCORSConfiguration"
	ErrInvalidPolicyDocument        ErrorCode = "InvalidPolicyDocument"
	ErrMaxPostPreDataLengthExceeded ErrorCode = "MaxPostPreDataLengthExceeded"
	ErrIncorrectNumberOfFilesInPost ErrorCode = "IncorrectNumberOfFilesInPostRequest"
	ErrNoSuchLifecycleConfiguration ErrorCode = "NoSuchLifecycleConfiguration"
	// ErrInvalidAction is the IAM/STS Query API code for an action the
	// endpoint does not offer.
	ErrInvalidAction ErrorCode = "InvalidAction"

	// Access control.
	ErrMalformedPolicy                     ErrorCode = "MalformedPolicy"
	ErrMalformedACL                        ErrorCode = "MalformedACLError"
	ErrNoSuchPublicAccessBlock             ErrorCode = "NoSuchPublicAccessBlockConfiguration"
	ErrOwnershipControlsNotFound           ErrorCode = "OwnershipControlsNotFoundError"
	ErrAccessControlListNotSupported       ErrorCode = "AccessControlListNotSupported"
	ErrInvalidBucketACLWithObjectOwnership ErrorCode = "InvalidBucketAclWithObjectOwnership"
	ErrUnresolvableGrantByEmail            ErrorCode = "UnresolvableGrantByEmailAddress"
	ErrExpiredToken                        ErrorCode = "ExpiredToken"
	ErrInvalidToken                        ErrorCode = "InvalidToken"

	// The IAM and STS Query APIs (their own codes; statuses from the IAM
	// and STS API references).
	ErrNoSuchEntity               ErrorCode = "NoSuchEntity"
	ErrEntityAlreadyExists        ErrorCode = "EntityAlreadyExists"
	ErrDeleteConflict             ErrorCode = "DeleteConflict"
	ErrLimitExceeded              ErrorCode = "LimitExceeded"
	ErrMalformedPolicyDocument    ErrorCode = "MalformedPolicyDocument"
	ErrValidationError            ErrorCode = "ValidationError"
	ErrInvalidInput               ErrorCode = "InvalidInput"
	ErrPasswordPolicyViolation    ErrorCode = "PasswordPolicyViolation"
	ErrConcurrentModification     ErrorCode = "ConcurrentModification"
	ErrInvalidClientTokenID       ErrorCode = "InvalidClientTokenId"
	ErrMissingAction              ErrorCode = "MissingAction"
	ErrMissingParameter           ErrorCode = "MissingParameter"
	ErrInvalidParameterValue      ErrorCode = "InvalidParameterValue"
	ErrPackedPolicyTooLarge       ErrorCode = "PackedPolicyTooLarge"
	ErrMissingAuthenticationToken ErrorCode = "MissingAuthenticationToken"
	// AssumeRoleWithWebIdentity.
	ErrInvalidIdentityToken  ErrorCode = "InvalidIdentityToken"
	ErrExpiredTokenException ErrorCode = "ExpiredTokenException"
	ErrIDPRejectedClaim      ErrorCode = "IDPRejectedClaim"
	ErrIDPCommunicationError ErrorCode = "IDPCommunicationError"
)

var errorTable = map[ErrorCode]apiErrorDef{
	ErrAccessDenied:                   {http.StatusForbidden, "Access Denied."},
	ErrAuthorizationHeaderMalformed:   {http.StatusBadRequest, "The authorization header that you provided is not valid."},
	ErrAuthorizationQueryParamsError:  {http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter."},
	ErrBadDigest:                      {http.StatusBadRequest, "The Content-MD5 or checksum value that you specified did not match what the server received."},
	ErrBucketAlreadyExists:            {http.StatusConflict, "The requested bucket name is not available."},
	ErrBucketAlreadyOwnedByYou:        {http.StatusConflict, "The bucket that you tried to create already exists, and you own it."},
	ErrBucketNotEmpty:                 {http.StatusConflict, "The bucket that you tried to delete is not empty."},
	ErrEntityTooLarge:                 {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	ErrEntityTooSmall:                 {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	ErrIncompleteBody:                 {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	ErrInternalError:                  {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	ErrInvalidAccessKeyID:             {http.StatusForbidden, "The AWS access key ID that you provided does not exist in our records."},
	ErrInvalidArgument:                {http.StatusBadRequest, "Invalid Argument."},
	ErrInvalidBucketName:              {http.StatusBadRequest, "The specified bucket is not valid."},
	ErrInvalidDigest:                  {http.StatusBadRequest, "The Content-MD5 or checksum value that you specified is not valid."},
	ErrInvalidPart:                    {http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified ETag might not have matched the part's ETag."},
	ErrInvalidPartOrder:               {http.StatusBadRequest, "The list of parts was not in ascending order. The parts list must be specified in order by part number."},
	ErrInvalidRange:                   {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable."},
	ErrInvalidRequest:                 {http.StatusBadRequest, "Invalid Request."},
	ErrInvalidBucketState:             {http.StatusConflict, "The request is not valid for the current state of the bucket."},
	ErrInvalidClusterState:            {http.StatusConflict, "The request is not valid for the current state of the cluster."},
	ErrKeyTooLong:                     {http.StatusBadRequest, "Your key is too long."},
	ErrMalformedXML:                   {http.StatusBadRequest, "The XML that you provided was not well formed or did not validate against our published schema."},
	ErrMethodNotAllowed:               {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	ErrMissingContentLength:           {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	ErrMissingSecurityHeader:          {http.StatusBadRequest, "Your request is missing a required header."},
	ErrNoSuchBucket:                   {http.StatusNotFound, "The specified bucket does not exist."},
	ErrNoSuchKey:                      {http.StatusNotFound, "The specified key does not exist."},
	ErrNoSuchNode:                     {http.StatusNotFound, "The specified node is not a member of the cluster."},
	ErrNoSuchUpload:                   {http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed."},
	ErrNoSuchVersion:                  {http.StatusNotFound, "The specified version does not exist."},
	ErrNotImplemented:                 {http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented."},
	ErrNotModified:                    {http.StatusNotModified, "Not Modified."},
	ErrPreconditionFailed:             {http.StatusPreconditionFailed, "At least one of the preconditions that you specified did not hold."},
	ErrRequestTimeout:                 {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	ErrRequestTimeTooSkewed:           {http.StatusForbidden, "The difference between the request time and the server's time is too large."},
	ErrSignatureDoesNotMatch:          {http.StatusForbidden, "The request signature that the server calculated does not match the signature that you provided. Check your AWS secret access key and signing method."},
	ErrServiceUnavailable:             {http.StatusServiceUnavailable, "Service is unable to handle request."},
	ErrSlowDown:                       {http.StatusServiceUnavailable, "Please reduce your request rate."},
	ErrXAmzContentSHA256Mismatch:      {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	ErrConditionalRequestConflict:     {http.StatusConflict, "A conflicting operation occurred. If using PutObject you can retry the request."},
	ErrMetadataTooLarge:               {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	ErrRequestHeaderSectionTooLarge:   {http.StatusBadRequest, "Your request header section exceeds the maximum allowed size."},
	ErrMalformedTrailer:               {http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema."},
	ErrInvalidEncodingType:            {http.StatusBadRequest, "Invalid Encoding Method specified in Request."},
	ErrUnexpectedContent:              {http.StatusBadRequest, "This request does not support content."},
	ErrInvalidLocationConstraint:      {http.StatusBadRequest, "The specified location constraint is not valid."},
	ErrIllegalVersioningConfiguration: {http.StatusBadRequest, "The versioning configuration specified in the request is invalid."},
	ErrInvalidObjectState:             {http.StatusForbidden, "The operation is not valid for the current state of the object."},
	ErrNoSuchBucketPolicy:             {http.StatusNotFound, "The bucket policy does not exist."},
	ErrInvalidPartNumber:              {http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable."},
	ErrInvalidStorageClass:            {http.StatusBadRequest, "The storage class you specified is not valid."},
	ErrBadRequest:                     {http.StatusBadRequest, "Bad Request."},
	ErrInvalidTag:                     {http.StatusBadRequest, "The tag provided was not a valid tag."},
	ErrNoSuchTagSet:                   {http.StatusNotFound, "The TagSet does not exist"},
	ErrObjectLockConfigNotFound:       {http.StatusNotFound, "Object Lock configuration does not exist for this bucket"},
	ErrNoSuchObjectLockConfig:         {http.StatusNotFound, "The specified object does not have a ObjectLock configuration"},
	ErrAccessForbidden:                {http.StatusForbidden, "CORSResponse: This CORS request is not allowed."},
	ErrNoSuchCORSConfiguration:        {http.StatusNotFound, "The CORS configuration does not exist"},
	ErrInvalidPolicyDocument:          {http.StatusBadRequest, "The content of the form does not meet the conditions specified in the policy document."},
	ErrMaxPostPreDataLengthExceeded:   {http.StatusBadRequest, "Your POST request fields preceding the upload file were too large."},
	ErrIncorrectNumberOfFilesInPost:   {http.StatusBadRequest, "POST requires exactly one file upload per request."},
	ErrMalformedPOSTRequest:           {http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."},
	ErrNoSuchLifecycleConfiguration:   {http.StatusNotFound, "The lifecycle configuration does not exist."},
	ErrInvalidAction:                  {http.StatusBadRequest, "The action or operation requested is invalid. Verify that the action is typed correctly."},
	ErrKMSNotFound:                    {http.StatusBadRequest, "The KMS key does not exist."},
	ErrKMSDisabled:                    {http.StatusBadRequest, "The KMS key is disabled."},
	ErrKMSAlreadyExists:               {http.StatusBadRequest, "The KMS key already exists."},
	ErrNoSuchEncryptionConfig:         {http.StatusNotFound, "The server side encryption configuration was not found"},

	ErrMalformedPolicy:                     {http.StatusBadRequest, "Policies must be valid JSON and the first byte must be '{'."},
	ErrMalformedACL:                        {http.StatusBadRequest, "The XML you provided was not well formed or did not validate against our published schema."},
	ErrNoSuchPublicAccessBlock:             {http.StatusNotFound, "The public access block configuration was not found."},
	ErrOwnershipControlsNotFound:           {http.StatusNotFound, "The bucket ownership controls were not found."},
	ErrAccessControlListNotSupported:       {http.StatusBadRequest, "The bucket does not allow ACLs."},
	ErrInvalidBucketACLWithObjectOwnership: {http.StatusBadRequest, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting."},
	ErrUnresolvableGrantByEmail:            {http.StatusBadRequest, "The email address you provided does not match any account on record."},
	ErrExpiredToken:                        {http.StatusBadRequest, "The provided token has expired."},
	ErrInvalidToken:                        {http.StatusBadRequest, "The provided token is malformed or otherwise invalid."},

	ErrNoSuchEntity:               {http.StatusNotFound, "The request was rejected because it referenced an entity that does not exist."},
	ErrInvalidIdentityToken:       {http.StatusBadRequest, "The web identity token that was passed could not be validated."},
	ErrExpiredTokenException:      {http.StatusBadRequest, "The web identity token that was passed is expired."},
	ErrIDPRejectedClaim:           {http.StatusForbidden, "The identity provider rejected the claim."},
	ErrIDPCommunicationError:      {http.StatusBadRequest, "The request could not be fulfilled because the identity provider could not be reached."},
	ErrEntityAlreadyExists:        {http.StatusConflict, "The request was rejected because it attempted to create a resource that already exists."},
	ErrDeleteConflict:             {http.StatusConflict, "The request was rejected because it attempted to delete a resource that has attached subordinate entities."},
	ErrLimitExceeded:              {http.StatusConflict, "The request was rejected because it attempted to create resources beyond the current AWS account limits."},
	ErrMalformedPolicyDocument:    {http.StatusBadRequest, "The request was rejected because the policy document was malformed."},
	ErrValidationError:            {http.StatusBadRequest, "The input fails to satisfy the constraints specified by an AWS service."},
	ErrInvalidInput:               {http.StatusBadRequest, "The request was rejected because an invalid or out-of-range value was supplied for an input parameter."},
	ErrPasswordPolicyViolation:    {http.StatusBadRequest, "The request was rejected because the provided password did not meet the requirements imposed by the account password policy."},
	ErrConcurrentModification:     {http.StatusConflict, "The request was rejected because multiple requests to change this object were submitted simultaneously."},
	ErrInvalidClientTokenID:       {http.StatusForbidden, "The security token included in the request is invalid."},
	ErrMissingAction:              {http.StatusBadRequest, "The request is missing an action or a required parameter."},
	ErrMissingParameter:           {http.StatusBadRequest, "A required parameter for the specified action is not supplied."},
	ErrInvalidParameterValue:      {http.StatusBadRequest, "An invalid or out-of-range value was supplied for the input parameter."},
	ErrMissingAuthenticationToken: {http.StatusForbidden, "Request is missing Authentication Token"},
	ErrPackedPolicyTooLarge:       {http.StatusBadRequest, "The request was rejected because the total packed size of the session policies and session tags combined was too large."},
}

// APIError is an error rendered to the client as S3 XML.
type APIError struct {
	Code    ErrorCode
	Message string // overrides the table's message when set
	// Status overrides the table's status when set (the Query APIs answer
	// some codes with another status than S3).
	Status int
	// Header is added to the error response (e.g. x-amz-delete-marker).
	Header http.Header
	// Extra XML fields (BucketName, Key, ...).
	BucketName string
	Key        string
	VersionID  string
	UploadID   string
	// Region is the region the server expects, sent with
	// AuthorizationHeaderMalformed so clients can retry there.
	Region string
	// Extra are further elements S3 sends with some errors
	// (MaxSizeAllowed, Method, Condition, ...), in order.
	Extra []errorField
	Err   error // the cause, logged, never shown
}

// errorField is one extra element of an error document.
type errorField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// field builds an errorField.
func field(name, value string) errorField {
	return errorField{XMLName: xml.Name{Local: name}, Value: value}
}

func (e *APIError) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.message()
}

func (e *APIError) Unwrap() error { return e.Err }

func (e *APIError) status() int {
	if e.Status != 0 {
		return e.Status
	}
	if d, ok := errorTable[e.Code]; ok {
		return d.Status
	}
	return http.StatusInternalServerError
}

func (e *APIError) message() string {
	if e.Message != "" {
		return e.Message
	}
	return errorTable[e.Code].Message
}

// apiErr builds an APIError with an optional message override.
func apiErr(code ErrorCode, msg string) *APIError { return &APIError{Code: code, Message: msg} }

// errorBody is the S3 XML error document.
type errorBody struct {
	XMLName    xml.Name `xml:"Error"`
	Code       ErrorCode
	Message    string
	Resource   string `xml:",omitempty"`
	BucketName string `xml:",omitempty"`
	Key        string `xml:",omitempty"`
	VersionID  string `xml:"VersionId,omitempty"`
	UploadID   string `xml:"UploadId,omitempty"`
	Region     string `xml:",omitempty"`
	Extra      []errorField
	RequestID  string `xml:"RequestId"`
	HostID     string `xml:"HostId"`
}

// toAPIError translates any error from the layers below into one S3 error;
// this is the single place where storage and sigv4 errors meet S3 codes.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	if code, ok := sigv4Code(err); ok {
		// sigv4 says precisely what was wrong (which parameter, which
		// region to use); keep that rather than the code's generic text.
		ae := &APIError{Code: code, Err: err}
		var se *sigv4.Error
		if errors.As(err, &se) {
			ae.Message, ae.Region = se.Message(), se.Region
		}
		return ae
	}
	if e := iamError(err); e != nil {
		return e
	}
	if e := storageError(err); e != nil {
		return e
	}
	if e := sseError(err); e != nil {
		return e
	}
	if e := adminError(err); e != nil {
		return e
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &APIError{Code: ErrIncompleteBody, Err: err}
	case errors.Is(err, errBodyTooLarge):
		return &APIError{Code: ErrEntityTooLarge, Err: err}
	}
	return &APIError{Code: ErrInternalError, Err: err}
}

func sigv4Code(err error) (ErrorCode, bool) {
	table := []struct {
		err  error
		code ErrorCode
	}{
		{sigv4.ErrSignatureDoesNotMatch, ErrSignatureDoesNotMatch},
		{sigv4.ErrInvalidAccessKeyID, ErrInvalidAccessKeyID},
		{sigv4.ErrRequestTimeTooSkewed, ErrRequestTimeTooSkewed},
		{sigv4.ErrAuthorizationHeaderMalformed, ErrAuthorizationHeaderMalformed},
		{sigv4.ErrAuthorizationQueryParametersError, ErrAuthorizationQueryParamsError},
		{sigv4.ErrExpiredPresignedRequest, ErrAccessDenied},
		{sigv4.ErrContentSHA256Mismatch, ErrXAmzContentSHA256Mismatch},
		{sigv4.ErrMissingContentSHA256, ErrInvalidRequest},
		{sigv4.ErrMissingDate, ErrAccessDenied},
		{sigv4.ErrIncompleteBody, ErrIncompleteBody},
		{sigv4.ErrMalformedChunk, ErrIncompleteBody},
		{sigv4.ErrMalformedTrailer, ErrMalformedTrailer},
		{sigv4.ErrMissingContentLength, ErrMissingContentLength},
		{sigv4.ErrUnsupportedAlgorithm, ErrInvalidArgument},
		{sigv4.ErrInvalidContentSHA256, ErrInvalidArgument},
		{sigv4.ErrAccessDenied, ErrAccessDenied},
		{sigv4.ErrInvalidPostForm, ErrInvalidArgument},
		{sigv4.ErrBodyTooLarge, ErrEntityTooLarge},
	}
	for _, row := range table {
		if errors.Is(err, row.err) {
			return row.code, true
		}
	}
	return "", false
}

// iamError maps the errors of package iam: the authentication refusals as
// S3 answers them (queryError rewords them for IAM and STS), and the
// management errors of the IAM Query API with iam's AWS-worded message.
func iamError(err error) *APIError {
	var ie *iam.Error
	if !errors.As(err, &ie) {
		return nil
	}
	table := []struct {
		kind error
		code ErrorCode
	}{
		{iam.ErrInvalidAccessKeyID, ErrInvalidAccessKeyID},
		{iam.ErrAccessKeyInactive, ErrInvalidAccessKeyID},
		{iam.ErrUserDisabled, ErrAccessDenied},
		{iam.ErrExpiredToken, ErrExpiredToken},
		{iam.ErrInvalidToken, ErrInvalidToken},
		{iam.ErrNoSuchEntity, ErrNoSuchEntity},
		{iam.ErrEntityAlreadyExists, ErrEntityAlreadyExists},
		{iam.ErrDeleteConflict, ErrDeleteConflict},
		{iam.ErrLimitExceeded, ErrLimitExceeded},
		{iam.ErrMalformedPolicyDocument, ErrMalformedPolicyDocument},
		{iam.ErrValidation, ErrValidationError},
		{iam.ErrInvalidInput, ErrInvalidInput},
		{iam.ErrPasswordPolicyViolation, ErrPasswordPolicyViolation},
		{iam.ErrConcurrentModification, ErrConcurrentModification},
		{iam.ErrAccessDenied, ErrAccessDenied},
		{iam.ErrNotImplemented, ErrNotImplemented},
		{iam.ErrInvalidIdentityToken, ErrInvalidIdentityToken},
		{iam.ErrExpiredIdentityToken, ErrExpiredTokenException},
		{iam.ErrIDPRejectedClaim, ErrIDPRejectedClaim},
		{iam.ErrIDPCommunication, ErrIDPCommunicationError},
	}
	for i, row := range table {
		if errors.Is(err, row.kind) {
			e := &APIError{Code: row.code, Err: err}
			if i >= 5 {
				// Management errors carry AWS's words; the authentication
				// ones (the first five) name the key id, kept for the log.
				e.Message = ie.Message
			}
			return e
		}
	}
	return nil
}

func storageError(err error) *APIError {
	var (
		bnf *storage.BucketNotFoundError
		onf *storage.ObjectNotFoundError
		vnf *storage.VersionNotFoundError
		unf *storage.UploadNotFoundError
		cnf *storage.ConfigNotFoundError
	)
	switch {
	case errors.As(err, &bnf):
		return &APIError{Code: ErrNoSuchBucket, BucketName: bnf.Bucket, Err: err}
	case errors.As(err, &vnf):
		return &APIError{Code: ErrNoSuchVersion, Key: vnf.Key, VersionID: vnf.VersionID, Err: err}
	case errors.As(err, &onf):
		e := &APIError{Code: ErrNoSuchKey, Key: onf.Key, Err: err}
		if onf.DeleteMarker {
			e.Header = http.Header{"X-Amz-Delete-Marker": {"true"}}
			if onf.MarkerVersionID != "" {
				e.Header.Set("X-Amz-Version-Id", onf.MarkerVersionID)
			}
			if onf.VersionID != "" {
				e.Code = ErrMethodNotAllowed
			}
		}
		return e
	case errors.As(err, &unf):
		return &APIError{Code: ErrNoSuchUpload, UploadID: unf.UploadID, Err: err}
	case errors.Is(err, storage.ErrChecksumMismatch):
		return &APIError{Code: ErrInvalidRequest, Err: err,
			Message: "The checksum algorithm or checksum type does not match the one the multipart upload was created with."}
	case errors.As(err, &cnf) && cnf.Kind == storage.ConfigTagging:
		return &APIError{Code: ErrNoSuchTagSet, BucketName: cnf.Bucket, Err: err}
	case errors.As(err, &cnf) && cnf.Kind == storage.ConfigEncryption:
		return &APIError{Code: ErrNoSuchEncryptionConfig, BucketName: cnf.Bucket, Err: err}
	case errors.As(err, &cnf) && cnf.Kind == storage.ConfigCORS:
		return &APIError{Code: ErrNoSuchCORSConfiguration, BucketName: cnf.Bucket, Err: err}
	}
	table := []struct {
		err  error
		code ErrorCode
	}{
		{storage.ErrInvalidBucketName, ErrInvalidBucketName},
		{storage.ErrInvalidObjectName, ErrInvalidArgument},
		{storage.ErrBucketExists, ErrBucketAlreadyOwnedByYou},
		{storage.ErrBucketNotEmpty, ErrBucketNotEmpty},
		{storage.ErrPreconditionFailed, ErrPreconditionFailed},
		{storage.ErrNotModified, ErrNotModified},
		{storage.ErrInvalidRange, ErrInvalidRange},
		{storage.ErrInvalidPart, ErrInvalidPart},
		{storage.ErrInvalidPartOrder, ErrInvalidPartOrder},
		{storage.ErrEntityTooSmall, ErrEntityTooSmall},
		{storage.ErrEntityTooLarge, ErrEntityTooLarge},
		{storage.ErrIncompleteBody, ErrIncompleteBody},
		{storage.ErrBadDigest, ErrBadDigest},
		{storage.ErrInvalidCopy, ErrInvalidRequest},
		{storage.ErrInvalidVersionID, ErrInvalidArgument},
		{storage.ErrInvalidArgument, ErrInvalidArgument},
		{storage.ErrWriteQuorum, ErrServiceUnavailable},
		{storage.ErrReadQuorum, ErrServiceUnavailable},
		{storage.ErrConflict, ErrConditionalRequestConflict},
		{storage.ErrCommitUnknown, ErrServiceUnavailable},
		{storage.ErrMethodNotAllowed, ErrMethodNotAllowed},
		{storage.ErrInvalidPartNumber, ErrInvalidPartNumber},
		{storage.ErrNoObjectLockConfig, ErrObjectLockConfigNotFound},
		{storage.ErrNoObjectRetention, ErrNoSuchObjectLockConfig},
		{storage.ErrInvalidRetentionMode, ErrMalformedXML},
		{storage.ErrNoSuchLifecycle, ErrNoSuchLifecycleConfiguration},
	}
	for _, row := range table {
		if errors.Is(err, row.err) {
			return &APIError{Code: row.code, Err: err}
		}
	}
	// Object lock errors carry S3's own messages.
	detailed := []struct {
		err  error
		code ErrorCode
		msg  string
	}{
		{storage.ErrObjectLockNotEnabled, ErrInvalidRequest, "Bucket is missing Object Lock Configuration"},
		{storage.ErrObjectLocked, ErrAccessDenied, "Access Denied because object protected by object lock."},
		{storage.ErrLockNeedsVersioning, ErrInvalidBucketState, "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"},
		{storage.ErrVersioningLocked, ErrInvalidBucketState, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."},
		{storage.ErrRetainUntilPast, ErrInvalidArgument, "The retain until date must be in the future!"},
		{storage.ErrInvalidRetentionPeriod, ErrInvalidArgument, "Default retention period must be a positive integer value."},
		{storage.ErrRetentionPeriodTooLong, ErrInvalidArgument, "Default retention period too large."},
		{storage.ErrLockNeedsDigest, ErrInvalidRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"},
	}
	for _, row := range append(detailed, lifecycleErrors...) {
		if errors.Is(err, row.err) {
			return &APIError{Code: row.code, Message: row.msg, Err: err}
		}
	}
	return nil
}

// lifecycleErrors are the lifecycle configuration checks, with S3's
// codes and messages (those S3 documents or answers; the rest say
// precisely what is wrong).
var lifecycleErrors = []struct {
	err  error
	code ErrorCode
	msg  string
}{
	{storage.ErrLifecycleTooManyRules, ErrInvalidRequest, "A lifecycle configuration can have at most 1000 rules."},
	{storage.ErrLifecycleIDTooLong, ErrInvalidArgument, "ID length should not exceed allowed limit of 255"},
	{storage.ErrLifecycleDuplicateID, ErrInvalidArgument, "Rule ID must be unique. Found same ID for more than one rule"},
	{storage.ErrLifecycleNoAction, ErrInvalidRequest, "At least one action needs to be specified in a rule"},
	{storage.ErrLifecycleExpiration, ErrMalformedXML, "An Expiration needs exactly one of Days, Date and ExpiredObjectDeleteMarker."},
	{storage.ErrLifecycleDays, ErrInvalidArgument, "'Days' for Expiration action must be a positive integer"},
	{storage.ErrLifecycleDate, ErrInvalidArgument, "'Date' must be at midnight GMT"},
	{storage.ErrLifecycleNoncurrentDays, ErrInvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
	{storage.ErrLifecycleNewerVersions, ErrInvalidArgument, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer, at most 100"},
	{storage.ErrLifecycleAbortDays, ErrInvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"},
	{storage.ErrLifecycleAbortTags, ErrInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags."},
	{storage.ErrLifecycleAbortSize, ErrInvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Object Size."},
	{storage.ErrLifecycleMarkerFilter, ErrMalformedXML, "ExpiredObjectDeleteMarker cannot be specified with a tag or object size filter."},
	{storage.ErrLifecycleSizeGreater, ErrInvalidRequest, "'ObjectSizeGreaterThan' should be between 0 and 1099511627775999."},
	{storage.ErrLifecycleSizeLess, ErrInvalidRequest, "'ObjectSizeLessThan' should be between 1 and 1099511627776000."},
	{storage.ErrLifecycleSizeOrder, ErrInvalidRequest, "'ObjectSizeGreaterThan' must be less than 'ObjectSizeLessThan'."},
	{storage.ErrLifecycleFilterTag, ErrInvalidTag, "The TagKey you have provided is invalid"},
	{storage.ErrLifecycleDuplicateTagKey, ErrInvalidRequest, "Duplicate Tag Keys are not allowed."},
}
