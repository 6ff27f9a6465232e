// One boxed entry point reaches every ATen operator, autograd included: arguments are packed into
// IValues, missing trailing ones take the schema's defaults, and the dispatcher picks the kernel.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include "common.h"

using namespace xmod;

namespace {

c10::IValue to_ivalue(const xmod_arg& a, const c10::Argument& formal) {
  switch (a.tag) {
    case XMOD_ARG_NONE:
      return c10::IValue();
    case XMOD_ARG_TENSOR:
      return c10::IValue(unwrap(reinterpret_cast<xmod_tensor>(const_cast<void*>(a.p))));
    case XMOD_ARG_INT:
      return c10::IValue(a.i);
    case XMOD_ARG_DOUBLE:
      return c10::IValue(a.d);
    case XMOD_ARG_BOOL:
      return c10::IValue(a.i != 0);
    case XMOD_ARG_INTS: {
      auto* p = static_cast<const int64_t*>(a.p);
      return c10::IValue(std::vector<int64_t>(p, p + a.n));
    }
    case XMOD_ARG_TENSORS: {
      auto* p = static_cast<const xmod_tensor*>(a.p);
      c10::List<at::Tensor> list;
      list.reserve(static_cast<size_t>(a.n));
      for (int64_t k = 0; k < a.n; k++) list.push_back(unwrap(p[k]));
      return c10::IValue(std::move(list));
    }
    case XMOD_ARG_DTYPE:
      return c10::IValue(static_cast<int64_t>(a.i));
    case XMOD_ARG_STRING:
      return c10::IValue(std::string(static_cast<const char*>(a.p)));
    case XMOD_ARG_DEVICE:
      return c10::IValue(at::Device(static_cast<at::DeviceType>(a.i),
                                    static_cast<c10::DeviceIndex>(a.n)));
    case XMOD_ARG_DOUBLES: {
      auto* p = static_cast<const double*>(a.p);
      return c10::IValue(std::vector<double>(p, p + a.n));
    }
    case XMOD_ARG_DEFAULT:
      if (!formal.default_value())
        throw std::invalid_argument("argument '" + formal.name() + "' has no default value");
      return *formal.default_value();
    default:
      throw std::invalid_argument("unknown argument tag " + std::to_string(a.tag));
  }
}

void emit(c10::IValue& v, xmod_tensor* outs, int32_t cap, int32_t& count) {
  auto push = [&](at::Tensor t) {
    if (outs == nullptr) return;  // the caller discards results (in-place calls)
    if (count >= cap)
      throw std::length_error("operator returned more than " + std::to_string(cap) + " results");
    outs[count++] = wrap(std::move(t));
  };
  if (v.isTensor()) {
    push(std::move(v).toTensor());
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorList()) push(t);
  } else if (v.isTuple()) {
    for (auto& e : v.toTupleRef().elements()) {
      c10::IValue copy = e;
      emit(copy, outs, cap, count);
    }
  } else if (v.isScalar()) {
    push(at::scalar_to_tensor(v.toScalar()));
  } else if (v.isBool()) {
    push(at::scalar_to_tensor(at::Scalar(v.toBool())));
  } else if (v.isIntList()) {
    auto ints = v.toIntVector();
    push(at::tensor(ints, at::kLong));
  } else if (!v.isNone()) {
    throw std::invalid_argument(std::string("unsupported result type ") + v.tagKind());
  }
}

}  // namespace

extern "C" {

xmod_op xmod_op_find(const char* name, const char* overload) {
  XMOD_TRY
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  return reinterpret_cast<xmod_op>(new c10::OperatorHandle(op));
  XMOD_CATCH(nullptr)
}

const char* xmod_op_schema(xmod_op op) {
  XMOD_TRY
  std::ostringstream s;
  s << reinterpret_cast<c10::OperatorHandle*>(op)->schema();
  return keep_string(s.str());
  XMOD_CATCH(nullptr)
}

int32_t xmod_op_call(xmod_op op, const xmod_arg* args, int32_t nargs, xmod_tensor* outs,
                     int32_t cap) {
  XMOD_TRY
  auto& handle = *reinterpret_cast<c10::OperatorHandle*>(op);
  const auto& schema = handle.schema();
  const auto& formals = schema.arguments();
  if (nargs > static_cast<int32_t>(formals.size()))
    throw std::invalid_argument(schema.name() + " takes " + std::to_string(formals.size()) +
                                " arguments, got " + std::to_string(nargs));
  torch::jit::Stack stack;
  stack.reserve(formals.size());
  for (int32_t k = 0; k < nargs; k++) stack.emplace_back(to_ivalue(args[k], formals[k]));
  for (size_t k = static_cast<size_t>(nargs); k < formals.size(); k++) {
    if (!formals[k].default_value())
      throw std::invalid_argument(schema.name() + ": missing argument '" + formals[k].name() + "'");
    stack.emplace_back(*formals[k].default_value());
  }
  handle.callBoxed(stack);
  int32_t count = 0;
  try {
    for (auto& v : stack) emit(v, outs, cap, count);
  } catch (...) {
    for (int32_t k = 0; k < count; k++) xmod_tensor_free(outs[k]);  // never a partial result
    throw;
  }
  return count;
  XMOD_CATCH(-1)
}

}  // extern "C"
