package s3api

import (
	"encoding/xml"
	"mime"
	"net/http"
	"net/url"

	"github.com/filesphere/filesphere/s3api/sigv4"
)

// API is the AWS API a request addresses. IAM and STS are AWS Query APIs
// (form-encoded Action requests answered in their own XML) that clients
// send to the same endpoint as S3.
type API string

// The APIs the listener tells apart.
const (
	APIS3  API = "s3"
	APIIAM API = "iam"
	APISTS API = "sts"
)

// Operations of the Query APIs. Each API is one operation until its actions
// are built; the action itself is then classified from the form.
const (
	OpIAM Operation = "IAM"
	OpSTS Operation = "STS"
)

// queryNamespaces are the XML namespaces of the Query APIs' documents.
var queryNamespaces = map[API]string{
	APIIAM: "https://iam.amazonaws.com/doc/2010-05-08/",
	APISTS: "https://sts.amazonaws.com/doc/2011-06-15/",
}

// classifyAPI decides which API a request addresses without reading its
// body: a signed request by the service of its credential scope; an
// unsigned one (STS's web-identity actions are unsigned) by an Action
// parameter or a form POST to the service root, which S3 does not define.
func classifyAPI(r *http.Request, q url.Values, bucket string) API {
	switch sigv4.CredentialService(r) {
	case "iam":
		return APIIAM
	case "sts":
		return APISTS
	case "":
		if bucket != "" || !unsignedQuery(r, q) {
			return APIS3
		}
		if _, ok := q["Action"]; ok {
			return APISTS
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" {
			return APISTS
		}
	}
	return APIS3
}

// queryOperations maps each Query API to its operation.
var queryOperations = map[API]Operation{APIIAM: OpIAM, APISTS: OpSTS}

// queryErrorBody is the Query APIs' error document.
type queryErrorBody struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	NS      string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    ErrorCode
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// errorDocument renders ae in the shape of the API the request addresses.
func errorDocument(req *request, ae *APIError, status int) (body []byte, contentType string) {
	if req.route.API == APIIAM || req.route.API == APISTS {
		doc := queryErrorBody{NS: queryNamespaces[req.route.API], RequestID: req.reqID}
		doc.Error.Type, doc.Error.Code, doc.Error.Message = "Sender", ae.Code, ae.message()
		if status >= 500 {
			doc.Error.Type = "Receiver"
		}
		body, _ = xml.Marshal(doc)
		return body, "text/xml"
	}
	body, _ = xml.Marshal(errorBody{
		Code: ae.Code, Message: ae.message(), Resource: req.URL.Path,
		BucketName: ae.BucketName, Key: ae.Key, VersionID: ae.VersionID, UploadID: ae.UploadID,
		Region: ae.Region, Extra: ae.Extra, RequestID: req.reqID, HostID: req.reqID,
	})
	return body, "application/xml"
}
